import Foundation
import VaultCore
import VaultEngine
import VaultRepository

/// The backup job: a consistent backup of the policy's source, its chain check recorded, the
/// policy's retention, and the off-site copy.
extension Daemon {
    func performBackup(_ name: String, cancellation: Cancellation) throws -> [String: String] {
        let backupStarted = Date().timeIntervalSince1970
        let policy = try policyNamed(name)
        let repo = try openForJob(policy, cancellation: cancellation)
        var result: ConsistentBackup.Result
        do {
            let shared = try repo.lock(exclusive: false, command: "daemon backup \(policy.name)")
            defer { shared.release() }
            result = try ConsistentBackup.run(
                policy, repository: repo, chainStateDirectory: stateDirectory,
                cancellation: cancellation, progress: book.withLock { $0.progress }, logger: logger)
        }
        let stats = result.backup.snapshot.stats
        state.update { $0.policies[policy.name, default: PolicyState()].chainCheck = result.backup.snapshot.chainCheck }
        // A failed chain check is an event of its own in the audit log (who backed up what, and
        // that the node's chain was broken then), whatever the job's outcome.
        if let check = result.backup.snapshot.chainCheck, !check.valid {
            _ = try? audit.append(
                actor: "daemon", action: "chain-check", subject: "policy \(policy.name)", result: "failed",
                details: [
                    "snapshot": result.backup.snapshotID.hex, "profile": check.profile,
                    "problems": "\(check.problems)", "required": "\(check.required)",
                    "firstProblem": check.firstProblems.first ?? ""
                ])
        }
        // A partial snapshot (files cut short by read errors) is kept but is no good backup: it
        // never counts for the RPO, never drives retention (which could drop the last complete
        // snapshot), and the job is retried with backoff as a failure. Checked before the chain:
        // a source that could not be read fails its chain check too, but the cause is the read error.
        if result.backup.snapshot.isPartial {
            let paths = result.backup.snapshot.incomplete ?? []
            throw VaultError(
                .sourceUnreadable,
                "backup of \(policy.name) is partial: snapshot \(result.backup.snapshotID.shortHex) lacks part of "
                    + "\(paths.count) file(s) (\(paths.prefix(3).joined(separator: ", "))\(paths.count > 3 ? ", …" : ""))",
                hint:
                    "the source could not be read completely (see the journal); the last complete snapshot stays 'latest'"
            )
        }
        // A snapshot whose required chain check failed is kept (flagged, never `latest`) but is
        // no good backup either: the job fails, so the RPO and last-backup alerts fire.
        if result.backup.snapshot.chainCheckFailed, let check = result.backup.snapshot.chainCheck {
            throw VaultError(
                .corrupt,
                "backup of \(policy.name): the \(check.profile) chain check of the source failed "
                    + "(\(check.problems) problem(s): \(check.firstProblems.first ?? "see 'chainvault chain verify'")); "
                    + "snapshot \(result.backup.snapshotID.shortHex) is kept but is not 'latest'",
                hint: "run 'chainvault chain verify \(policy.source)' to see every problem, repair the node's data "
                    + "(or restore the newest valid snapshot), then back up again")
        }
        // The snapshot is saved: the backup succeeded. Retention that finds the repository
        // locked by another command waits for the next prune or backup instead of failing it.
        var removed = 0
        var retention = "applied"
        if config.appendOnly == true {
            retention = "skipped"
            log(6, "retention", [("policy", policy.name), ("result", "skipped"), ("reason", "append-only")])
        } else {
            do {
                let (kept, forgotten) = try applyRetention(policy, in: repo)
                removed = forgotten
                state.update { state in
                    state.policies[policy.name, default: PolicyState()].snapshots = kept
                    state.policies[policy.name, default: PolicyState()].retentionPending = nil
                }
            } catch let e as VaultError where e.code == .locked {
                retention = "deferred"
                state.update { $0.policies[policy.name, default: PolicyState()].retentionPending = true }
                log(4, "retention", [("policy", policy.name), ("result", "deferred"), ("error", e.message)])
            }
        }
        state.update { state in
            var s = state.policies[policy.name, default: PolicyState()]
            s.lastSnapshot = result.backup.snapshotID.hex
            s.lastBytesRead = stats.bytesRead
            s.lastBytesAdded = stats.bytesNew
            s.lastBytesStored = stats.bytesStored
            s.lastDowntimeSeconds = result.downtimeSeconds
            state.policies[policy.name] = s
            state.repositoryBytes = repo.index.storedBytes
        }
        var detail = [
            "snapshot": result.backup.snapshotID.hex, "bytesRead": "\(stats.bytesRead)",
            "bytesNew": "\(stats.bytesNew)",
            "bytesStored": "\(stats.bytesStored)", "forgotten": "\(removed)", "retention": retention
        ]
        if let d = result.downtimeSeconds { detail["downtimeSeconds"] = String(format: "%.1f", d) }
        if !stats.skipped.isEmpty { detail["skipped"] = "\(stats.skipped.count)" }
        if let target = policy.copyTo {
            do {
                for (k, v) in try copyOffSite(policy, target: target, from: repo, cancellation: cancellation) {
                    detail[k] = v
                }
                state.update { state in
                    let succeeded = JobState.succeeded.rawValue
                    state.policies[policy.name, default: PolicyState()].lastCopyOutcome = succeeded
                    state.policies[policy.name, default: PolicyState()].lastCopySuccess = Date().timeIntervalSince1970
                    state.policies[policy.name, default: PolicyState()].lastCopiedSnapshotTime = backupStarted
                }
            } catch {
                state.update { state in
                    state.policies[policy.name, default: PolicyState()].lastCopyOutcome = JobState.failed.rawValue
                }
                // The local snapshot stands; the job fails so monitoring sees the missing copy.
                let e = VaultError.wrap(error, .storageFailure, "copy failed")
                throw VaultError(
                    e.code,
                    "snapshot \(result.backup.snapshotID.shortHex) is saved locally, but copying it to \(target) failed: \(e.message)",
                    cause: e.cause, hint: e.hint ?? "the next backup retries the copy")
            }
        }
        return detail
    }
}
