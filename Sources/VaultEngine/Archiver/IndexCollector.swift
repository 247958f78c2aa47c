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
    private var pending: [IndexedPack] = []
    private(set) var storedBytes: UInt64 = 0

    init(repository: Repository, every: Int) { self.repository = repository; self.every = every }

    func add(_ pack: FinishedPack) throws {
        // Tests pause here: a pack is durable, nothing references it yet (FORMAT.md, "Prune").
        Failpoint.stop("pack-stored")
        try lock.withLock {
            repository.index.add(pack.indexed)
            pending.append(pack.indexed)
            storedBytes += UInt64(pack.size)
            if pending.count >= every { try flushLocked() }
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
    }
}

/// Blob ids already stored or being stored by this backup: the deduplication decision.
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
}
