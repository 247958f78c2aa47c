import VaultCore
import VaultRepository

extension Checker {
    /// Every file (and directory, for bad trees) of the selected snapshots that uses a bad blob.
    func affectedFiles(_ snapshots: [SnapshotRecord], codec: BlobCodec) -> [AffectedFile] {
        var affected: [AffectedFile] = []
        for s in snapshots {
            let root = s.snapshot.tree
            var seen = Set<BlobID>()
            // Files and trees on one stack, so paths come out in depth-first canonical order.
            var stack: [(BlobID?, String)] = [(root, "")]
            while let (item, path) = stack.popLast() {
                guard let id = item else { affected.append(AffectedFile(snapshot: s.shortID, path: "/" + path)); continue }
                if badBlobs.contains(id) { affected.append(AffectedFile(snapshot: s.shortID, path: "/" + path + (path.isEmpty ? "" : "/"))); continue }
                guard seen.insert(id).inserted, let tree = try? repository.loadTree(id, from: table, codec: codec) else { continue }
                for node in tree.nodes.reversed() {
                    let child = Self.join(path, node.name)
                    if node.kind == .directory, let sub = node.subtree { stack.append((sub, child)) }
                    if node.kind == .file, node.chunks.contains(where: badBlobs.contains) { stack.append((nil, child)) }
                }
            }
        }
        return affected
    }
}
