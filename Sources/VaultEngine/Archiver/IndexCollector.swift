import Foundation
import VaultCore
import VaultRepository

/// Takes finished packs (already durable in the backend), adds them to the in-memory index and
/// writes an index file every `every` packs, so a killed backup loses at most that many packs'
/// worth of index (and `recoverUnindexedPacks` recovers even those).
final class IndexCollector: @unchecked Sendable {
    private let lock = NSLock()
    private let repository: Repository
    private let every: Int
    private let dedup: DedupSet?
    private var pending: [IndexedPack] = []
    private var pendingBlobs = 0
    private(set) var storedBytes: UInt64 = 0

    /// An index file holds at most this many blobs as well: packs of small blobs hold ~60,000 each,
    /// and a reader decodes a whole file at once (~2.5 MiB of sealed, plain and decoded entries).
    static let maxBlobsPerFile = 16384

    init(repository: Repository, every: Int, dedup: DedupSet? = nil) {
        self.repository = repository; self.every = every; self.dedup = dedup
    }

    func add(_ pack: FinishedPack) throws {
        // Tests pause here: a pack is durable, nothing references it yet (FORMAT.md, "Prune").
        Failpoint.stop("pack-stored")
        try lock.withLock {
            repository.index.add(pack.indexed)
            // Now in the index, its blobs need no claim any more (which keeps the claims small).
            dedup?.settle(pack.indexed)
            pending.append(pack.indexed)
            pendingBlobs += pack.indexed.entries.count
            storedBytes += UInt64(pack.size)
            if pending.count >= every || pendingBlobs >= Self.maxBlobsPerFile { try flushLocked() }
        }
    }

    func flush() throws { try lock.withLock { try flushLocked() } }

    /// Ends a job: stores its tree pack after every data pack (so a tree never names a chunk that
    /// is not stored) when the job succeeded, drops it otherwise, and writes the last index file.
    func finish(treePack writer: PackWriter?, codec: BlobCodec, succeeded: Bool) throws {
        if let w = writer {
            if succeeded, !w.isEmpty {
                let pack = try w.finish(codec: codec)
                try repository.storePack(pack)
                try add(pack)
            } else {
                w.abandon()
            }
        }
        try flush()
    }

    private func flushLocked() throws {
        guard !pending.isEmpty else { return }
        try repository.writeIndex(IndexFile(packs: pending))
        pending.removeAll()
        pendingBlobs = 0
    }
}

/// Blob ids already stored or being stored by this backup: the deduplication decision. A claim
/// lasts until the blob's pack is in the index (`settle`), so `claimed` holds only blobs in flight
/// (open packs and the tree pack), not every blob of a first backup (issue 17: memory per blob).
final class DedupSet: @unchecked Sendable {
    private let lock = NSLock()
    private let index: MasterIndex
    private var claimed = Set<BlobID>()

    init(index: MasterIndex) { self.index = index }

    /// True when the caller is the first to see `id` and must store it.
    func claim(_ id: BlobID) -> Bool {
        lock.withLock {
            if claimed.contains(id) || index.contains(id) { return false }
            claimed.insert(id)
            return true
        }
    }

    /// Called once `pack` is in the index: `index.contains` answers for its blobs from now on.
    func settle(_ pack: IndexedPack) {
        lock.withLock { for e in pack.entries { claimed.remove(e.id) } }
    }
}
