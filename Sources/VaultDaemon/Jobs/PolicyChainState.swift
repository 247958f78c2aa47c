import VaultCore
import VaultEngine

/// Where a policy's backups keep their incremental chain-check state (the CLI's backup keeps one
/// per source): `<state directory>/chain/policy-<name hash>/<source key>.json`. In the daemon's
/// state directory it survives restarts; one per policy, so two policies over one directory never
/// undo each other's state; one per source, so a policy whose source changed starts fresh (the
/// policy's files for other sources are removed). The state only shortens the check: a backup
/// trusts it only when it was saved for the parent snapshot's tree, and only for bytes whose chunk
/// ids equal the parent's (`ChunkProvenSource`), so a bit flipped in old data is still caught.
enum PolicyChainState {
    static func directory(policy: String, stateDirectory: String) -> String {
        stateDirectory + "/chain/policy-" + String(SHA256.hash(policy).hex.prefix(16))
    }

    static func path(policy: String, source: String, stateDirectory: String) -> String {
        directory(policy: policy, stateDirectory: stateDirectory) + "/" + ChainCheckRunner.directoryKey(source)
            + ".json"
    }

    /// The state path for this backup, after removing the policy's states of other sources (a
    /// failed removal only leaves a file that is never read again).
    static func prepare(policy: String, source: String, stateDirectory: String) -> String {
        let path = path(policy: policy, source: source, stateDirectory: stateDirectory)
        let dir = directory(policy: policy, stateDirectory: stateDirectory)
        let mine = String(path.dropFirst(dir.count + 1))
        for name in (try? DirectoryListing.names(dir)) ?? [] where name.hasSuffix(".json") && name != mine {
            _ = try? Posix.unlink(dir + "/" + name)
        }
        return path
    }
}
