import Foundation
import VaultCore
import VaultEngine
import VaultRepository
import VaultStorage

extension Daemon {
    /// One run of a policy's rolling verify: structure always, and the packs `RollingVerify`
    /// chooses, so that every pack is read within `readAllWithinDays` and each run reads at least
    /// one. Call with the repository's shared lock held.
    func rollingVerify(_ policy: Policy, repo: Repository) throws -> [String: String] {
        let v = policy.verify ?? Policy.Verify(every: "24h", readAllWithinDays: 30)
        let every = v.every.seconds ?? 86_400
        let packs = try repo.listPacks().map(\.name)
        let coverage = state.read { $0.policies[policy.name]?.verifyCoverage }
        let (chosen, next) = RollingVerify.plan(
            coverage, packs: packs, now: Date().timeIntervalSince1970,
            window: Double(max(v.readAllWithinDays, 1)) * 86_400, every: every)
        var options = VerifyOptions()
        options.snapshots = try repo.listSnapshots().filter { $0.snapshot.policy == policy.name }.map(\.id.hex)
        options.readData = .packs(chosen)
        let report = try Checker(repository: repo, options: options, progress: book.withLock { $0.progress }).run()
        state.update { state in
            var s = state.policies[policy.name, default: PolicyState()]
            s.verifyRuns += 1
            s.lastVerifyStart = Date().timeIntervalSince1970 - report.durationSeconds
            s.lastVerifyErrors = report.problems.count
            s.lastVerifyPacksRead = report.packsRead
            // The packs were read, clean or not: the window moves on (problems are reported below).
            s.verifyCoverage = next
            if report.clean { s.lastVerifySuccess = Date().timeIntervalSince1970 }
            state.policies[policy.name] = s
        }
        if !report.clean {
            throw VaultError(
                .corrupt,
                "verify found \(report.problems.count) problem(s): "
                    + report.problems.prefix(5).map { "\($0.object): \($0.message)" }.joined(separator: "; "),
                hint: "run 'chainvault verify --read-data' by hand for the full list of affected files")
        }
        try checkRollback(repo)
        return [
            "packsRead": "\(report.packsRead)", "windowReadShare": String(format: "%.3f", next.share),
            "windowUnread": "\(next.unreadInWindow)"
        ]
    }

    /// The repository against what this daemon saw of it before (FORMAT.md §8, "Rollback
    /// detection"). A rollback fails the verify job and stays reported until reviewed with
    /// `chainvault verify --accept-rollback` run with this state directory.
    func checkRollback(_ repo: Repository) throws {
        let path = SnapshotMemory.path(stateDirectory: stateDirectory, repositoryID: repo.config.id)
        let memory = try SnapshotMemory.load(path)
        let listed = Set(try repo.listSnapshotIDs())
        let current = try repo.listSnapshotsReportingDamage().0
        let problems = memory.rollbacks(current, listed: listed)
        guard problems.isEmpty else {
            throw VaultError(
                .rollback, "the repository went backwards: " + problems.prefix(5).joined(separator: "; "),
                hint: "someone who can write the storage may have deleted or replayed snapshots; review, then run "
                    + "'CHAINVAULT_STATE_DIRECTORY=\(stateDirectory) chainvault verify --accept-rollback'")
        }
        try memory.updated(current, listed: listed).save(path)
    }
}
