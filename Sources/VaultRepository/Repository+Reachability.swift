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
    /// again (which files that costs is verify's to say). Iterative (`TreeWalker`), each
    /// tree once; only trees are remembered, chunks are looked up each time they are met.
    public func reachability() throws -> Reachability {
        var result = Reachability()
        let codec = makeCodec()
        var visited = Set<BlobID>()
        var missing = Set<BlobID>()
        // A damaged snapshot file is verify's to report (nothing in the index can mend it, and
        // what it references cannot be known): the readable ones are walked.
        for s in try listSnapshotsReportingDamage().0 {
            let root = s.snapshot.tree
            guard visited.insert(root).inserted else { continue }
            guard index.contains(root) else { missing.insert(root); continue }
            let tree: Tree
            do { tree = try loadTree(root, codec: codec) } catch { result.unreadableTrees += 1; continue }
            // Each tree once: one that is not indexed is missing, one that cannot be read is counted.
            try TreeWalker(repository: self, codec: codec).walk(
                tree,
                { _, node in
                    for c in node.chunks where !index.contains(c) { missing.insert(c) }
                    guard let sub = node.subtree, visited.insert(sub).inserted else { return .skipSubtree }
                    guard index.contains(sub) else { missing.insert(sub); return .skipSubtree }
                    return .descend
                }, damaged: { _, _, _ in result.unreadableTrees += 1 })
        }
        result.unreachableBlobs = missing.count
        return result
    }
}
