import VaultChain
import VaultCore
import VaultRepository

/// How a backup treats the chain check of its source (a policy's `chainCheck`).
public enum ChainCheckMode: String, Codable, Sendable {
    /// Checked and recorded; a failed check marks the snapshot: never `latest`, restore warns.
    case required
    /// Checked and recorded; a failed check is only reported.
    case recorded
    /// Not checked.
    case off
}

/// The chain check a backup runs: the incremental check of the source directory right after the
/// archiver has read the snapshot's files and before the snapshot is written (FORMAT.md), so the
/// snapshot records what the chain looked like when its bytes were read.
enum BackupChainCheck {
    /// `parent` and `tree`: the parent snapshot's root tree and the new one (already stored), whose
    /// chunk ids prove which bytes are unchanged since the check that left the state.
    static func run(
        source: String, options: BackupOptions, repository: Repository, parent: (tree: Tree, id: String)?,
        tree: BlobID
    ) throws -> ChainCheck? {
        // Only a chain that is named (a policy's "chain", `backup --chain NAME`) is checked: a
        // backup of any other directory must not depend on a parser of some client's format
        // that its data merely resembles. `chain verify` still detects profiles by layout.
        guard options.chainCheck != .off, let name = options.chain, name != "none" else { return nil }
        let directory = DirectoryChainSource(source)
        guard let profile = try ChainCheckRunner.profile(named: name, for: directory) else { return nil }
        var checked: ChainDataSource = directory
        var parentTree: String?
        if let parent, let current = try? repository.loadTree(tree, codec: repository.makeCodec()) {
            checked = ChunkProvenSource(
                directory: directory,
                parent: SnapshotChainSource(repository: repository, root: parent.tree, snapshot: "parent"),
                current: SnapshotChainSource(repository: repository, root: current, snapshot: "new"))
            parentTree = parent.id
        }
        let report: ChainReport
        do {
            report = try ChainCheckRunner.run(
                profile, source: checked, statePath: options.chainStatePath,
                tree: (parentTree, tree.hex))
        } catch let e as VaultError {
            // A source that cannot be read is the backup's problem (reported as partial), not the
            // chain's: the check is recorded as not valid, with the reason.
            return ChainCheck(
                profile: profile.name, height: nil, tipHash: nil, valid: false, problems: 1,
                firstProblems: ["unreadable: \(e.message)"], bytesChecked: 0,
                required: options.chainCheck == .required)
        }
        let bad = report.problems.filter { $0.kind != .info }
        return ChainCheck(
            profile: profile.name, height: report.height, tipHash: report.tipHash, valid: report.valid,
            problems: bad.count, firstProblems: bad.prefix(10).map(\.line),
            bytesChecked: report.bytesChecked, required: options.chainCheck == .required)
    }
}
