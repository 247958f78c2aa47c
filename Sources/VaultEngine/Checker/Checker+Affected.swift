import VaultCore
import VaultRepository

extension Checker {
    /// Every file (and directory, for bad trees) of the selected snapshots that uses a bad blob.
    func affectedFiles(_ snapshots: [SnapshotRecord], codec: BlobCodec) -> [AffectedFile] {
        var affected: [AffectedFile] = []
        for s in snapshots {
            let root = s.snapshot.tree
            if badBlobs.contains(root) { affected.append(AffectedFile(snapshot: s.shortID, path: "/")); continue }
            // Depth-first in canonical order (`TreeWalker`), each tree once; an unreadable one
            // was reported by the walk before and is passed over.
            var seen: Set<BlobID> = [root]
            let table = self.table, repository = self.repository
            let load = { (id: BlobID) in try repository.loadTree(id, from: table, codec: codec) }
            guard let tree = try? load(root) else { continue }
            var shown = [""]
            try? TreeWalker(load: load).walk(
                tree,
                { bytes, node in
                    let depth = bytes.lazy.filter { $0 == 47 }.count
                    shown.removeSubrange(depth...)
                    shown.append(Self.join(shown[depth - 1], node.name))
                    let path = "/" + shown[depth]
                    if node.kind == .file, node.chunks.contains(where: badBlobs.contains) {
                        affected.append(AffectedFile(snapshot: s.shortID, path: path))
                    }
                    guard node.kind == .directory, let sub = node.subtree else { return .skipSubtree }
                    if badBlobs.contains(sub) {
                        affected.append(AffectedFile(snapshot: s.shortID, path: path + "/"))
                        return .skipSubtree
                    }
                    return seen.insert(sub).inserted ? .descend : .skipSubtree
                }, damaged: { _, _, _ in })
        }
        return affected
    }
}
