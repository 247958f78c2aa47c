import VaultCore

/// What the snapshots reference that the in-memory index cannot reach.
public struct Reachability: Sendable, Encodable {
    /// Distinct blobs (trees and chunks) some snapshot references that no index entry names.
    public var unreachableBlobs = 0
    /// Trees that are indexed but could not be read: what they reference is unknown.
    public var unreadableTrees = 0
    public var isComplete: Bool { unreachableBlobs == 0 && unreadableTrees == 0 }
}

extension Repository {
    /// Walks every snapshot's trees through `index` and counts what it cannot reach: a structure
    /// check, so that a command that rebuilt the index can say whether the snapshots are whole
    /// again (which files that costs is verify's to say). Iterative (an explicit stack), each
    /// tree once; only trees are remembered, chunks are looked up each time they are met.
    public func reachability() throws -> Reachability {
        var result = Reachability()
        let codec = makeCodec()
        var visited = Set<BlobID>()
        var missing = Set<BlobID>()
        // A damaged snapshot file is verify's to report (nothing in the index can mend it, and
        // what it references cannot be known): the readable ones are walked.
        for s in try listSnapshotsReportingDamage().0 {
            var stack = [s.snapshot.tree]
            while let id = stack.popLast() {
                guard visited.insert(id).inserted else { continue }
                guard index.contains(id) else { missing.insert(id); continue }
                let tree: Tree
                do { tree = try loadTree(id, codec: codec) } catch { result.unreadableTrees += 1; continue }
                for node in tree.nodes {
                    if let sub = node.subtree { stack.append(sub) }
                    for c in node.chunks where !index.contains(c) { missing.insert(c) }
                }
            }
        }
        result.unreachableBlobs = missing.count
        return result
    }
}
