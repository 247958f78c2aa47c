import VaultCore
import VaultEngine
import VaultRepository

extension VerifyCommand {
    /// Compares the repository's snapshots with what this client's state directory remembers of
    /// them (FORMAT.md §8, "Rollback detection"), then remembers what is there now, unless a
    /// rollback was found and not accepted: then the memory stays as it was, so every later verify
    /// reports it too. Returns the problems, printed as errors or (accepted) as warnings.
    static func checkRollback(_ c: Context, _ repo: Repository, accept: Bool) throws -> [String] {
        let path = SnapshotMemory.path(
            stateDirectory: ChainCheckRunner.stateDirectory(environment: c.environment),
            repositoryID: repo.config.id)
        let memory = try SnapshotMemory.load(path)
        let listed = Set(try repo.listSnapshotIDs())
        let current = try repo.listSnapshotsReportingDamage().0
        let problems = memory.rollbacks(current, listed: listed)
        if problems.isEmpty || accept {
            do { try memory.updated(current, listed: listed).save(path) } catch {
                FileHandleStderr.write(
                    "warning: cannot remember this repository's snapshots in \(path): \((error as? VaultError)?.message ?? "\(error)")\n"
                )
            }
        }
        for p in problems { FileHandleStderr.write("\(accept ? "warning (accepted)" : "error"): rollback: \(p)\n") }
        return accept ? [] : problems
    }

    static func reportRollback(_ problems: [String]) -> Int32 {
        FileHandleStderr.write(
            "error: the repository went backwards: \(problems.count) snapshot(s) this client saw are missing or replayed\n"
        )
        FileHandleStderr.write(
            "HINT: someone who can write the storage may have deleted or replayed snapshots; compare with the audit log and the other hosts' backups, then run 'chainvault verify --accept-rollback' once you have reviewed it (a 'forget' of a source's newest snapshot by another host also shows here)\n"
        )
        return ErrorCode.rollback.rawValue
    }
}
