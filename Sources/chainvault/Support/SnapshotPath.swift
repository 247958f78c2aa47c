import VaultCore
import VaultRepository

/// A path inside a snapshot, as an operator types it: the argument's raw bytes, or else the
/// `\xHH` escapes that `ls` prints for names that are not UTF-8.
enum SnapshotPath {
    /// The node at `argument` under `root`, and its path as `ls` displays it.
    static func lookup(_ argument: String, in root: Tree, walker load: (BlobID) throws -> Tree,
                       snapshot: String) throws -> (node: Node, display: String)? {
        var tree = root
        var found: Node?
        var display = ""
        for part in FileName.commandLineBytes(argument).split(separator: 47, omittingEmptySubsequences: true) where part != [46] {
            if let dir = found {
                guard dir.kind == .directory, let sub = dir.subtree else { return nil }
                tree = try load(sub)
            }
            let name = Array(part)
            guard let node = tree.node(named: name) ?? tree.node(named: FileName.unescape(String(decoding: name, as: UTF8.self))) else {
                return nil
            }
            found = node
            display += "/" + FileName.display(node.name)
        }
        return found.map { ($0, display) }
    }
}
