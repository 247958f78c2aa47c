import VaultCore
import VaultRepository

/// A path inside a snapshot, as an operator types it: the argument's raw bytes, or else the
/// `\xHH` escapes that `ls` prints for names that are not UTF-8.
enum SnapshotPath {
    /// The node at `argument` under `root`, and its path as `ls` displays it.
    static func lookup(
        _ argument: String, in root: Tree, walker load: @escaping (BlobID) throws -> Tree,
        snapshot: String
    ) throws -> (node: Node, display: String)? {
        let parts = FileName.commandLineBytes(argument).split(separator: 47, omittingEmptySubsequences: true)
            .filter { $0 != [46] }
        // Only the trees along the path are loaded (`TreeWalker.follow`).
        let found = try TreeWalker(load: load).follow(parts, from: root) { tree, part in
            let name = Array(part)
            return tree.node(named: name) ?? tree.node(named: FileName.unescape(String(decoding: name, as: UTF8.self)))
        }
        guard found.count == parts.count, let node = found.last else { return nil }
        return (node, found.map { "/" + FileName.display($0.name) }.joined())
    }
}
