import Foundation
import VaultCore
import VaultEngine
import VaultRepository
import VaultStorage

extension Daemon {
    /// Copies every snapshot of `policy` the secondary lacks (so a copy missed by an outage is
    /// made up by the next run), then applies the policy's retention there too.
    func copyOffSite(_ policy: Policy, target: String, from repo: Repository, cancellation: Cancellation) throws
        -> [String: String]
    {
        let credential = credential
        let appendOnly = config.appendOnly == true
        let backend = try openBackend(
            target, appendOnly: appendOnly,
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
        log(
            6, "copy",
            [
                ("policy", policy.name), ("target", secondary.location), ("copied", "\(copied.copied.count)"),
                ("bytes", "\(copied.bytesCopied)"), ("forgotten", "\(removed)")
            ])
        return [
            "copiedTo": secondary.location, "copiedSnapshots": "\(copied.copied.count)",
            "copiedBytes": "\(copied.bytesCopied)"
        ]
    }

    /// Forgets this policy's snapshots that its retention no longer keeps (their data goes at
    /// the next prune), under an exclusive lock. Returns how many are kept and removed.
    func applyRetention(_ policy: Policy, in repo: Repository) throws -> (kept: Int, removed: Int) {
        let exclusive = try repo.lock(exclusive: true, command: "daemon forget \(policy.name)")
        defer { exclusive.release() }
        let mine = try repo.listSnapshots().filter { $0.snapshot.policy == policy.name }
        let remove = policy.retentionPolicy.apply(mine).remove
        try repo.forget(
            remove, memory: SnapshotMemory.path(stateDirectory: stateDirectory, repositoryID: repo.config.id))
        return (mine.count - remove.count, remove.count)
    }

    /// The repository for a job: under its limits and, for a policy's job, the policy's too; a
    /// limit's wait ends when `cancellation` does (SIGTERM).
    func openForJob(_ policy: Policy? = nil, cancellation: Cancellation? = nil) throws -> Repository {
        let (path, credential, appendOnly) = settings.withLock {
            ($0.config.repository, $0.credential, $0.config.appendOnly == true)
        }
        let limits = bandwidth.limits(path, policy: policy?.name, cancellation: cancellation)
        let backend = try openBackend(path, appendOnly: appendOnly, limits: limits)
        let repo = try Repository.open(backend, credential: credential)
        for w in repo.openWarnings { log(4, "repository-open", [("warning", w)]) }
        loop.withLock {
            $0.repositoryOpenedAt = Date(); $0.repositoryError = nil
        }
        return repo
    }

    func policyNamed(_ name: String) throws -> Policy {
        guard let p = settings.withLock({ $0.policies[name] }) else {
            throw VaultError(.usage, "no policy \(name) (it was removed by a reload)")
        }
        return p
    }

    func perform(_ key: JobKind, cancellation: Cancellation) throws -> [String: String] {
        switch key {
        case .backup(let name):
            return try performBackup(name, cancellation: cancellation)
        case .verify(let name):
            let policy = try policyNamed(name)
            let repo = try openForJob(policy, cancellation: cancellation)
            let shared = try repo.lock(exclusive: false, command: "daemon verify \(policy.name)")
            defer { shared.release() }
            return try rollingVerify(policy, repo: repo)
        case .drill(let name):
            // A test restore of the latest snapshot into scratch space: its duration is the measured RTO.
            let policy = try policyNamed(name)
            let repo = try openForJob(policy, cancellation: cancellation)
            let shared = try repo.lock(exclusive: false, command: "daemon drill \(policy.name)")
            defer { shared.release() }
            let latest = try repo.resolveSnapshot("latest", selecting: policy.snapshotSelection)
            let refused = [config.repository, stateDirectory].filter { !$0.contains("://") }
            let drill = try RestoreDrill.run(
                repo, snapshot: latest, scratch: policy.restoreDrill?.scratch,
                refused: refused, progress: book.withLock { $0.progress },
                cancellation: cancellation)
            state.update { state in
                var s = state.policies[policy.name, default: PolicyState()]
                s.lastDrillStart = drill.started.timeIntervalSince1970
                s.lastDrillSeconds = drill.seconds
                s.lastDrillOutcome = JobState.succeeded.rawValue
                s.lastDrillBytes = drill.bytes
                s.lastDrillBytesPerSecond = drill.bytesPerSecond
                state.policies[policy.name] = s
            }
            return [
                "snapshot": latest.id.hex, "restoreSeconds": String(format: "%.1f", drill.seconds),
                "files": "\(drill.files)", "bytes": "\(drill.bytes)",
                "bytesPerSecond": String(format: "%.0f", drill.bytesPerSecond)
            ]
            .merging(
                drill.clearedScratch.isEmpty
                    ? [:]
                    : ["clearedScratch": drill.clearedScratch.joined(separator: ",")]
            ) { $1 }
        case .forget(let name):
            // Through the API (and its approvals): the same retention a backup applies.
            let policy = try policyNamed(name)
            if config.appendOnly == true { throw VaultError(.usage, "this daemon is append-only: it never forgets") }
            let (kept, removed) = try applyRetention(policy, in: try openForJob(cancellation: cancellation))
            state.update { state in
                state.policies[policy.name, default: PolicyState()].snapshots = kept
                state.policies[policy.name, default: PolicyState()].retentionPending = nil
            }
            return ["kept": "\(kept)", "forgotten": "\(removed)"]
        case .prune:
            if config.appendOnly == true {
                log(6, "prune", [("result", "skipped"), ("reason", "append-only")])
                return ["skipped": "append-only"]
            }
            let repo = try openForJob(cancellation: cancellation)
            let pending = policies.values.filter { p in state.read { $0.policies[p.name]?.retentionPending == true } }
            for policy in pending {
                let (kept, _) = try applyRetention(policy, in: repo)
                state.update { state in
                    state.policies[policy.name, default: PolicyState()].snapshots = kept
                    state.policies[policy.name, default: PolicyState()].retentionPending = nil
                }
            }
            let exclusive = try repo.lock(exclusive: true, command: "daemon prune")
            defer { exclusive.release() }
            let pruner = Pruner(repository: repo)
            pruner.progress = book.withLock { $0.progress }
            let r = try pruner.run()
            state.update { $0.lastPrune = Date().timeIntervalSince1970 }
            return [
                "packsDeleted": "\(r.packsDeleted)", "packsRepacked": "\(r.packsRepacked)",
                "bytesFreed": "\(r.bytesFreed)"
            ]
        case .restore:
            guard var options = book.withLock({ $0.restoreRequests.removeValue(forKey: key) }) else {
                throw VaultError(.failure, "restore request lost")
            }
            let (id, policyName) = book.withLock { ($0.idForKey[key], $0.record(key)?.policy) }
            let policy = try policyNamed(policyName ?? "")
            let repo = try openForJob(cancellation: cancellation)
            let shared = try repo.lock(exclusive: false, command: "daemon restore")
            defer { shared.release() }
            // Chosen before any hook runs: a request for a snapshot that is not there never stops the node.
            options.snapshot = try repo.resolveSnapshot(options.snapshot, selecting: policy.snapshotSelection).id.hex
            let done = try ConsistentRestore.run(
                policy, target: options.target,
                report: { report in
                    book.withLock { book in
                        guard let id else { return }
                        book.records[id]?.phases = report.phases
                        book.records[id]?.downtimeSeconds = report.downtimeSeconds
                    }
                }, logger: logger
            ) {
                try Restorer(
                    repository: repo, options: options, progress: book.withLock { $0.progress },
                    cancellation: cancellation
                ).run()
            }
            let r = done.restore
            var detail = ["snapshot": r.snapshotID.hex, "target": r.destination, "files": "\(r.files)"]
            if let p = r.previous { detail["previous"] = p }
            if !r.protectedKept.isEmpty { detail["protectedKept"] = r.protectedKept.joined(separator: ",") }
            if let d = done.downtimeSeconds { detail["downtimeSeconds"] = String(format: "%.1f", d) }
            return detail
        }
    }
}
