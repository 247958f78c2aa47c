import Foundation
import VaultCore
import VaultEngine
import VaultRepository
import VaultStorage

extension Daemon {
    /// Runs one job on the job thread; records its outcome in memory, in state.json and in the
    /// audit log. Never throws: a failed job is a failed job, the daemon goes on.
    func execute(_ key: String, cancellation: Cancellation) {
        let started = Date()
        let id = lock.withLock { jobIDForKey[key] } ?? "?"
        var detail: [String: String] = [:]
        var outcome = "succeeded"
        var errorText: String?
        var failures: Int?
        do {
            detail = try perform(key, cancellation: cancellation)
            lock.withLock { lastContact = Date() }
        } catch {
            let e = error as? VaultError
            errorText = e.map { $0.message + ($0.causeDescription.map { " (\($0))" } ?? "") } ?? "\(error)"
            // Stopped by SIGTERM at a safe point: not a failure (health stays OK), retried later.
            outcome = e?.code == .interrupted ? "interrupted" : "failed"
            if outcome == "interrupted" { errorText = "interrupted" }
        }
        let seconds = Date().timeIntervalSince(started)
        let policy = key.split(separator: ":", maxSplits: 1).dropFirst().first.map(String.init)
        lock.withLock {
            if key.hasPrefix("backup:"), let p = policy {
                var s = state.policies[p, default: PolicyState()]
                s.lastBackupStart = started.timeIntervalSince1970
                s.lastDurationSeconds = seconds
                s.lastOutcome = outcome
                s.lastError = errorText
                switch outcome {
                case "succeeded": s.runsSucceeded += 1; s.lastSuccess = Date().timeIntervalSince1970
                case "interrupted": s.runsInterrupted = (s.runsInterrupted ?? 0) + 1
                default: s.runsFailed += 1
                }
                state.policies[p] = s
            }
            if outcome == "succeeded" { state.attempts?[key] = nil }
            failures = state.attempts?[key]?.failures
            if key.hasPrefix("restore:") {
                if outcome == "succeeded" { state.restoresSucceeded += 1 } else { state.restoresFailed += 1 }
                state.lastRestoreSeconds = seconds
            }
            jobs[id]?.state = outcome
            jobs[id]?.finished = Date().timeIntervalSince1970
            jobs[id]?.error = errorText
            jobs[id]?.detail.merge(detail) { $1 }
            jobs[id]?.snapshot = detail["snapshot"]
            running = nil
            jobProgress = nil
            state.runningJob = nil
            try? state.save(stateDirectory + "/state.json")
        }
        if outcome != "succeeded", let failures { scheduler.failed(key, failures: failures, startedAt: started) }
        queue.finish(key)
        var auditDetails = detail
        auditDetails["job"] = id
        // An approved action's entry names its approvers next to its requester (the actor).
        if let approvers = lock.withLock({ jobs[id]?.detail["approvedBy"] }) { auditDetails["approvedBy"] = approvers }
        if let errorText { auditDetails["error"] = errorText }
        _ = try? audit.append(actor: lock.withLock { jobs[id]?.detail["requestedBy"] } ?? "daemon", action: String(key.split(separator: ":")[0]),
                          subject: policy.map { "policy \($0)" } ?? key, result: outcome, details: auditDetails)
        mirrorAudit()
        log(outcome == "succeeded" ? 6 : 3, "job", [("job", id), ("kind", key), ("result", outcome), ("seconds", String(format: "%.1f", seconds))]
            + detail.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } + (errorText.map { [("error", $0)] } ?? []))
        jobFinished(key, id: id, outcome: outcome, error: errorText, detail: detail, seconds: seconds)
        notifier.status("\(lock.withLock { policies.count }) policies, idle; last: \(key) \(outcome)")
        // Last: "finished" means the job thread is done, audit mirror (and its key use) included.
        lock.withLock { jobsFinished += 1 }
    }

    /// Copies the audit log into the repository after each job (best effort: a failure is logged,
    /// the local log stays authoritative).
    func mirrorAudit() {
        do {
            let bytes = try Posix.readFile(audit.path)
            let last = AuditLog.tail(bytes).0
            try openForJob().mirrorAudit(host: ProcessInfo.processInfo.hostName, lastSequence: last, log: bytes)
        } catch {
            log(4, "audit-mirror", [("result", "failed"), ("error", (error as? VaultError)?.message ?? "\(error)")])
        }
    }

    /// Copies every snapshot of `policy` the secondary lacks (so a copy missed by an outage is
    /// made up by the next run), then applies the policy's retention there too.
    func copyOffSite(_ policy: Policy, target: String, from repo: Repository, cancellation: Cancellation) throws -> [String: String] {
        let credential = lock.withLock { self.credential }
        let appendOnly = lock.withLock { config.appendOnly == true }
        let backend = try openBackend(target, appendOnly: appendOnly,
                                      limits: bandwidth.limits(target, policy: policy.name, cancellation: cancellation))
        let secondary = try Repository.open(backend, credential: credential)
        let sourceLock = try repo.lock(exclusive: false, command: "daemon copy \(policy.name)")
        defer { sourceLock.release() }
        var options = CopyOptions()
        options.snapshots = try repo.listSnapshots().filter { $0.snapshot.policy == policy.name }.map(\.id.hex)
        let copied: CopyResult
        do {
            let shared = try secondary.lock(exclusive: false, command: "daemon copy \(policy.name)")
            defer { shared.release() }
            copied = try Copier(source: repo, destination: secondary, cancellation: cancellation).run(options)
        }
        let removed = appendOnly ? 0 : try applyRetention(policy, in: secondary).removed
        log(6, "copy", [("policy", policy.name), ("target", secondary.location), ("copied", "\(copied.copied.count)"),
                        ("bytes", "\(copied.bytesCopied)"), ("forgotten", "\(removed)")])
        return ["copiedTo": secondary.location, "copiedSnapshots": "\(copied.copied.count)", "copiedBytes": "\(copied.bytesCopied)"]
    }

    /// Forgets this policy's snapshots that its retention no longer keeps (their data goes at
    /// the next prune), under an exclusive lock. Returns how many are kept and removed.
    func applyRetention(_ policy: Policy, in repo: Repository) throws -> (kept: Int, removed: Int) {
        let exclusive = try repo.lock(exclusive: true, command: "daemon forget \(policy.name)")
        defer { exclusive.release() }
        let mine = try repo.listSnapshots().filter { $0.snapshot.policy == policy.name }
        let remove = policy.retentionPolicy.apply(mine).remove
        try repo.forget(remove, memory: SnapshotMemory.path(stateDirectory: stateDirectory, repositoryID: repo.config.id))
        return (mine.count - remove.count, remove.count)
    }

    /// The repository for a job: under its limits and, for a policy's job, the policy's too; a
    /// limit's wait ends when `cancellation` does (SIGTERM).
    func openForJob(_ policy: Policy? = nil, cancellation: Cancellation? = nil) throws -> Repository {
        let (path, credential, appendOnly) = lock.withLock { (config.repository, self.credential, config.appendOnly == true) }
        let limits = bandwidth.limits(path, policy: policy?.name, cancellation: cancellation)
        let backend = try openBackend(path, appendOnly: appendOnly, limits: limits)
        let repo = try Repository.open(backend, credential: credential)
        for w in repo.openWarnings { log(4, "repository-open", [("warning", w)]) }
        lock.withLock { repositoryOpenedAt = Date(); repositoryError = nil }
        return repo
    }

    func policyNamed(_ name: String) throws -> Policy {
        guard let p = lock.withLock({ policies[name] }) else { throw VaultError(.usage, "no policy \(name) (it was removed by a reload)") }
        return p
    }

    func perform(_ key: String, cancellation: Cancellation) throws -> [String: String] {
        let parts = key.split(separator: ":", maxSplits: 1).map(String.init)
        switch parts[0] {
        case "backup":
            let backupStarted = Date().timeIntervalSince1970
            let policy = try policyNamed(parts[1])
            let repo = try openForJob(policy, cancellation: cancellation)
            var result: ConsistentBackup.Result
            do {
                let shared = try repo.lock(exclusive: false, command: "daemon backup \(policy.name)")
                defer { shared.release() }
                result = try ConsistentBackup.run(policy, repository: repo, chainStateDirectory: stateDirectory,
                                                  cancellation: cancellation, progress: lock.withLock { jobProgress }, logger: logger)
            }
            let stats = result.backup.snapshot.stats
            lock.withLock { state.policies[policy.name, default: PolicyState()].chainCheck = result.backup.snapshot.chainCheck }
            // A failed chain check is an event of its own in the audit log (who backed up what, and
            // that the node's chain was broken then), whatever the job's outcome.
            if let check = result.backup.snapshot.chainCheck, !check.valid {
                _ = try? audit.append(actor: "daemon", action: "chain-check", subject: "policy \(policy.name)", result: "failed",
                                      details: ["snapshot": result.backup.snapshotID.hex, "profile": check.profile,
                                                "problems": "\(check.problems)", "required": "\(check.required)",
                                                "firstProblem": check.firstProblems.first ?? ""])
            }
            // A partial snapshot (files cut short by read errors) is kept but is no good backup: it
            // never counts for the RPO, never drives retention (which could drop the last complete
            // snapshot), and the job is retried with backoff as a failure. Checked before the chain:
            // a source that could not be read fails its chain check too, but the cause is the read error.
            if result.backup.snapshot.isPartial {
                let paths = result.backup.snapshot.incomplete ?? []
                throw VaultError(.sourceUnreadable,
                                 "backup of \(policy.name) is partial: snapshot \(result.backup.snapshotID.shortHex) lacks part of "
                                 + "\(paths.count) file(s) (\(paths.prefix(3).joined(separator: ", "))\(paths.count > 3 ? ", …" : ""))",
                                 hint: "the source could not be read completely (see the journal); the last complete snapshot stays 'latest'")
            }
            // A snapshot whose required chain check failed is kept (flagged, never `latest`) but is
            // no good backup either: the job fails, so the RPO and last-backup alerts fire.
            if result.backup.snapshot.chainCheckFailed, let check = result.backup.snapshot.chainCheck {
                throw VaultError(.corrupt,
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
            if lock.withLock({ config.appendOnly == true }) {
                retention = "skipped"
                log(6, "retention", [("policy", policy.name), ("result", "skipped"), ("reason", "append-only")])
            } else { do {
                let (kept, forgotten) = try applyRetention(policy, in: repo)
                removed = forgotten
                lock.withLock {
                    state.policies[policy.name, default: PolicyState()].snapshots = kept
                    state.policies[policy.name, default: PolicyState()].retentionPending = nil
                }
            } catch let e as VaultError where e.code == .locked {
                retention = "deferred"
                lock.withLock { state.policies[policy.name, default: PolicyState()].retentionPending = true }
                log(4, "retention", [("policy", policy.name), ("result", "deferred"), ("error", e.message)])
            } }
            lock.withLock {
                var s = state.policies[policy.name, default: PolicyState()]
                s.lastSnapshot = result.backup.snapshotID.hex
                s.lastBytesRead = stats.bytesRead
                s.lastBytesAdded = stats.bytesNew
                s.lastBytesStored = stats.bytesStored
                s.lastDowntimeSeconds = result.downtimeSeconds
                state.policies[policy.name] = s
                state.repositoryBytes = repo.index.storedBytes
            }
            var detail = ["snapshot": result.backup.snapshotID.hex, "bytesRead": "\(stats.bytesRead)", "bytesNew": "\(stats.bytesNew)",
                          "bytesStored": "\(stats.bytesStored)", "forgotten": "\(removed)", "retention": retention]
            if let d = result.downtimeSeconds { detail["downtimeSeconds"] = String(format: "%.1f", d) }
            if !stats.skipped.isEmpty { detail["skipped"] = "\(stats.skipped.count)" }
            if let target = policy.copyTo {
                do {
                    for (k, v) in try copyOffSite(policy, target: target, from: repo, cancellation: cancellation) { detail[k] = v }
                    lock.withLock {
                        state.policies[policy.name, default: PolicyState()].lastCopyOutcome = "succeeded"
                        state.policies[policy.name, default: PolicyState()].lastCopySuccess = Date().timeIntervalSince1970
                        state.policies[policy.name, default: PolicyState()].lastCopiedSnapshotTime = backupStarted
                    }
                } catch {
                    lock.withLock { state.policies[policy.name, default: PolicyState()].lastCopyOutcome = "failed" }
                    // The local snapshot stands; the job fails so monitoring sees the missing copy.
                    let e = VaultError.wrap(error, .storageFailure, "copy failed")
                    throw VaultError(e.code, "snapshot \(result.backup.snapshotID.shortHex) is saved locally, but copying it to \(target) failed: \(e.message)",
                                     cause: e.cause, hint: e.hint ?? "the next backup retries the copy")
                }
            }
            return detail
        case "verify":
            let policy = try policyNamed(parts[1])
            let repo = try openForJob(policy, cancellation: cancellation)
            let shared = try repo.lock(exclusive: false, command: "daemon verify \(policy.name)")
            defer { shared.release() }
            return try rollingVerify(policy, repo: repo)
        case "drill":
            // A test restore of the latest snapshot into scratch space: its duration is the measured RTO.
            let policy = try policyNamed(parts[1])
            let repo = try openForJob(policy, cancellation: cancellation)
            let shared = try repo.lock(exclusive: false, command: "daemon drill \(policy.name)")
            defer { shared.release() }
            let latest = try repo.resolveSnapshot("latest", selecting: policy.snapshotSelection)
            let refused = [lock.withLock { config.repository }, stateDirectory].filter { !$0.contains("://") }
            let drill = try RestoreDrill.run(repo, snapshot: latest, scratch: policy.restoreDrill?.scratch,
                                             refused: refused, progress: lock.withLock { jobProgress },
                                             cancellation: cancellation)
            lock.withLock {
                var s = state.policies[policy.name, default: PolicyState()]
                s.lastDrillStart = drill.started.timeIntervalSince1970
                s.lastDrillSeconds = drill.seconds
                s.lastDrillOutcome = "succeeded"
                s.lastDrillBytes = drill.bytes
                s.lastDrillBytesPerSecond = drill.bytesPerSecond
                state.policies[policy.name] = s
            }
            return ["snapshot": latest.id.hex, "restoreSeconds": String(format: "%.1f", drill.seconds),
                    "files": "\(drill.files)", "bytes": "\(drill.bytes)",
                    "bytesPerSecond": String(format: "%.0f", drill.bytesPerSecond)]
        case "forget":
            // Through the API (and its approvals): the same retention a backup applies.
            let policy = try policyNamed(parts[1])
            if lock.withLock({ config.appendOnly == true }) { throw VaultError(.usage, "this daemon is append-only: it never forgets") }
            let (kept, removed) = try applyRetention(policy, in: try openForJob(cancellation: cancellation))
            lock.withLock {
                state.policies[policy.name, default: PolicyState()].snapshots = kept
                state.policies[policy.name, default: PolicyState()].retentionPending = nil
            }
            return ["kept": "\(kept)", "forgotten": "\(removed)"]
        case "prune":
            if lock.withLock({ config.appendOnly == true }) {
                log(6, "prune", [("result", "skipped"), ("reason", "append-only")])
                return ["skipped": "append-only"]
            }
            let repo = try openForJob(cancellation: cancellation)
            let pending = lock.withLock { policies.values.filter { state.policies[$0.name]?.retentionPending == true } }
            for policy in pending {
                let (kept, _) = try applyRetention(policy, in: repo)
                lock.withLock {
                    state.policies[policy.name, default: PolicyState()].snapshots = kept
                    state.policies[policy.name, default: PolicyState()].retentionPending = nil
                }
            }
            let exclusive = try repo.lock(exclusive: true, command: "daemon prune")
            defer { exclusive.release() }
            let pruner = Pruner(repository: repo)
            pruner.progress = lock.withLock { jobProgress }
            let r = try pruner.run()
            lock.withLock { state.lastPrune = Date().timeIntervalSince1970 }
            return ["packsDeleted": "\(r.packsDeleted)", "packsRepacked": "\(r.packsRepacked)", "bytesFreed": "\(r.bytesFreed)"]
        case "restore":
            guard var options = lock.withLock({ restoreRequests.removeValue(forKey: key) }) else { throw VaultError(.failure, "restore request lost") }
            let (id, policyName) = lock.withLock { (jobIDForKey[key], jobIDForKey[key].flatMap { jobs[$0]?.policy }) }
            let policy = try policyNamed(policyName ?? "")
            let repo = try openForJob(cancellation: cancellation)
            let shared = try repo.lock(exclusive: false, command: "daemon restore")
            defer { shared.release() }
            // Chosen before any hook runs: a request for a snapshot that is not there never stops the node.
            options.snapshot = try repo.resolveSnapshot(options.snapshot, selecting: policy.snapshotSelection).id.hex
            let done = try ConsistentRestore.run(policy, target: options.target, report: { report in
                lock.withLock {
                    guard let id else { return }
                    jobs[id]?.phases = report.phases
                    jobs[id]?.downtimeSeconds = report.downtimeSeconds
                }
            }, logger: logger) {
                try Restorer(repository: repo, options: options, progress: lock.withLock { jobProgress },
                             cancellation: cancellation).run()
            }
            let r = done.restore
            var detail = ["snapshot": r.snapshotID.hex, "target": r.destination, "files": "\(r.files)"]
            if let p = r.previous { detail["previous"] = p }
            if !r.protectedKept.isEmpty { detail["protectedKept"] = r.protectedKept.joined(separator: ",") }
            if let d = done.downtimeSeconds { detail["downtimeSeconds"] = String(format: "%.1f", d) }
            return detail
        default:
            throw VaultError(.failure, "unknown job \(key)")
        }
    }
}
