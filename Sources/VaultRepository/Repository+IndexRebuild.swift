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
    /// Packs whose header could not be read and that no readable index file listed: not indexed.
    public var packsUnindexed: [String] = []
    /// The old index files kept (see `indexFilesKept`).
    public var keptIndexFiles: [String] = []
    /// Blobs the snapshots reference that the new index does not reach, and indexed trees that
    /// could not be read (what they reference is unknown): both 0 means every snapshot is whole.
    public var unreachableBlobs = 0
    public var unreadableTrees = 0
    /// Every cause of what stays unreachable was a failure to read (the storage), not damage.
    public var onlyReadFailures = true
}

extension Repository {
    /// Rebuilds the index from every pack's authenticated header, writes it superseding the old
    /// index files, then deletes those. Verify before you delete: a pack whose header cannot be
    /// read keeps the entries an old index file gave it (each blob is still authenticated on
    /// its own when it is read, so a damaged header alone must not make intact blobs
    /// unreachable), and an old index file that cannot be read is kept, not superseded, while
    /// some skipped pack found its entries nowhere else: it may be the only record of them.
    /// Then every snapshot is walked through the new index: the result says what stays unreachable.
    public func rebuildIndex(skipped: (String, VaultError) -> Void) throws -> IndexRebuildResult {
        var result = IndexRebuildResult()
        let packs = try backend.list(.pack)
        result.packs = packs.count
        var rebuilt: [IndexedPack] = []
        var unreadHeaders: [PackID: Bool] = [:]  // pack → its header failed only to be read
        for p in packs {
            do { rebuilt.append(try readPackHeader(name: p.name, size: p.size)) } catch {
                let e = error as? VaultError ?? VaultError(.storageFailure, "pack \(p.name.prefix(8)): \(error)")
                skipped(p.name, e)
                if let id = PackID(hex: p.name) { unreadHeaders[id] = Self.isReadFailure(e) }
            }
        }
        result.packsIndexed = rebuilt.count
        var replaced = try backend.list(.index).map(\.name)
        var kept: [(String, Bool)] = []
        if !unreadHeaders.isEmpty {
            var unreadable: [(String, Bool)] = []
            for name in replaced {
                let file: IndexFile
                do { file = try readIndexFile(named: name) } catch {
                    unreadable.append((name, Self.isReadFailure(error))); continue
                }
                for pack in file.packs where unreadHeaders[pack.id] != nil {
                    unreadHeaders[pack.id] = nil
                    rebuilt.append(pack)
                    result.packsCarried += 1
                }
            }
            if !unreadHeaders.isEmpty { kept = unreadable }
        }
        replaced.removeAll { name in kept.contains { $0.0 == name } }
        result.blobs = rebuilt.reduce(0) { $0 + $1.entries.count }
        try writeIndex(IndexFile(packs: rebuilt, supersedes: replaced.compactMap { IndexID(hex: $0) }))
        try deleteIndexFiles(named: replaced)
        result.indexFilesReplaced = replaced.count
        result.indexFilesKept = kept.count
        result.keptIndexFiles = kept.map(\.0)
        result.packsUnindexed = unreadHeaders.keys.map(\.hex).sorted()
        result.onlyReadFailures = unreadHeaders.values.allSatisfy { $0 } && kept.allSatisfy(\.1)

        // What the snapshots can reach now: exactly what was just written.
        index.removeAll()
        index.load(rebuilt)
        index.seal()
        let reach = try reachability()
        result.unreachableBlobs = reach.unreachableBlobs
        result.unreadableTrees = reach.unreadableTrees
        return result
    }

    /// A failure to read (the storage, after its retries) says nothing about the stored bytes.
    static func isReadFailure(_ error: Error) -> Bool {
        guard let e = error as? VaultError else { return false }
        return e.code == .storageFailure || e.code == .storageFull || e.code == .interrupted
    }
}
