import VaultCore
@_spi(Repository) import VaultStorage

/// What `rebuildIndex` did, for the operator's summary and `--json`.
public struct IndexRebuildResult: Sendable, Encodable {
    public var packs = 0
    /// Packs indexed from their own authenticated header.
    public var packsIndexed = 0
    /// Packs whose header could not be read, indexed from the entries an old index file gave them.
    public var packsCarried = 0
    public var blobs = 0
    public var indexFilesReplaced = 0
    /// Old index files kept because they could not be read while a skipped pack found its entries nowhere.
    public var indexFilesKept = 0
}

extension Repository {
    /// Rebuilds the index from every pack's authenticated header, writes it superseding the old
    /// index files, then deletes those. Verify before you delete: a pack whose header cannot be
    /// read keeps the entries an old index file gave it (each blob is still authenticated on
    /// its own when it is read, so a damaged header alone must not make intact blobs
    /// unreachable), and an old index file that cannot be read is kept, not superseded, while
    /// some skipped pack found its entries nowhere else: it may be the only record of them.
    public func rebuildIndex(skipped: (String, VaultError) -> Void) throws -> IndexRebuildResult {
        var result = IndexRebuildResult()
        let packs = try backend.list(.pack)
        result.packs = packs.count
        var rebuilt: [IndexedPack] = []
        var unreadHeaders = Set<SHA256Digest>()
        for p in packs {
            do { rebuilt.append(try readPackHeader(name: p.name, size: p.size)) } catch {
                skipped(p.name, error as? VaultError ?? VaultError(.storageFailure, "pack \(p.name.prefix(8)): \(error)"))
                if let id = SHA256Digest(hex: p.name) { unreadHeaders.insert(id) }
            }
        }
        result.packsIndexed = rebuilt.count
        var replaced = try backend.list(.index).map(\.name)
        var kept: [String] = []
        if !unreadHeaders.isEmpty {
            var unreadable: [String] = []
            for name in replaced {
                guard let file = try? readIndexFile(name) else { unreadable.append(name); continue }
                for pack in file.packs where unreadHeaders.contains(pack.id) {
                    unreadHeaders.remove(pack.id)
                    rebuilt.append(pack)
                    result.packsCarried += 1
                }
            }
            if !unreadHeaders.isEmpty { kept = unreadable }
        }
        replaced.removeAll { kept.contains($0) }
        result.blobs = rebuilt.reduce(0) { $0 + $1.entries.count }
        try writeIndex(IndexFile(packs: rebuilt, supersedes: replaced.compactMap { SHA256Digest(hex: $0) }))
        try deleteIndexFiles(replaced)
        result.indexFilesReplaced = replaced.count
        result.indexFilesKept = kept.count
        return result
    }
}
