import VaultCore

/// Where one chunk of a file goes: its offset in the file and where the repository keeps it.
public struct ChunkPlacement: Sendable {
    public let offset: UInt64
    public let id: BlobID
    public let location: BlobLocation
}

extension Repository {
    /// The placement of every chunk of a file node, checked against the index and FORMAT.md §7:
    /// chunks and zero runs must tile exactly `node.size` bytes (sizes come from storage and are
    /// not trusted before this check). `path` names the file in errors.
    public func chunkLayout(of node: Node, path: String) throws -> [ChunkPlacement] {
        var lengths: [UInt64] = []
        var locations: [BlobLocation] = []
        lengths.reserveCapacity(node.chunks.count)
        locations.reserveCapacity(node.chunks.count)
        for id in node.chunks {
            guard let location = index.lookup(id) else {
                throw VaultError(
                    .missing, "\(path): chunk \(id.shortHex) is not in the index",
                    hint: "the repository is damaged; run 'chainvault verify' and use another snapshot")
            }
            lengths.append(UInt64(location.entry.rawLength))
            locations.append(location)
        }
        let zeroBytes = node.zeroRuns.reduce(UInt64(0)) { $0 &+ $1.length }
        let (total, overflow) = lengths.reduce(0, +).addingReportingOverflow(zeroBytes)
        guard !overflow, total == node.size, let offsets = node.chunkOffsets(rawLengths: lengths) else {
            throw VaultError(
                .corrupt,
                !overflow && total == node.size
                    ? "\(path): its chunks overlap its zero runs"
                    : "\(path): its chunks add up to \(total) bytes but the snapshot records \(node.size)")
        }
        return (0..<offsets.count).map {
            ChunkPlacement(offset: offsets[$0], id: node.chunks[$0], location: locations[$0])
        }
    }
}
