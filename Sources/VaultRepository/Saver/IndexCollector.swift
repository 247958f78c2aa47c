import Foundation
import VaultCore

/// Takes finished packs once they are durable in storage. Adding (backup, copy): each joins the
/// in-memory index, and an index file is written every `every` packs, so a killed backup loses at
/// most that many packs' worth of index (and `recoverUnindexedPacks` recovers even those).
/// Repacking (prune, pack repair): the packs are only collected; the caller writes the index that
/// replaces the old one (`replaceIndex`), and no index file may name them before that.
final class IndexCollector: @unchecked Sendable {
    // Safe: every mutable property is read and written under `lock`.
    private let lock = NSLock()
    private let repository: Repository
    /// nil: repacking (collect only).
    private let every: Int?
    private let dedup: DedupSet?
    private var pending: [IndexedPack] = []
    private var pendingBlobs = 0
    private(set) var collected: [IndexedPack] = []
    private var stored: UInt64 = 0

    /// An index file holds at most this many blobs as well: packs of small blobs hold ~60,000 each,
    /// and a reader decodes a whole file at once (~2.5 MiB of sealed, plain and decoded entries).
    static let maxBlobsPerFile = 16384

    init(repository: Repository, every: Int?, dedup: DedupSet?) {
        self.repository = repository; self.every = every; self.dedup = dedup
    }

    var storedBytes: UInt64 { lock.withLock { stored } }
    var packs: [IndexedPack] { lock.withLock { collected } }

    func add(_ pack: FinishedPack) throws {
        // Tests pause here: a pack is durable, nothing references it yet (FORMAT.md, "Prune").
        Failpoint.stop("pack-stored")
        try lock.withLock {
            stored += UInt64(pack.size)
            guard let every else { collected.append(pack.indexed); return }
            repository.index.add(pack.indexed)
            // Now in the index, its blobs need no claim any more (which keeps the claims small).
            dedup?.settle(pack.indexed)
            pending.append(pack.indexed)
            pendingBlobs += pack.indexed.entries.count
            if pending.count >= every || pendingBlobs >= Self.maxBlobsPerFile { try flushLocked() }
        }
    }

    /// Writes the index file of the packs stored since the last one (adding only).
    func flush() throws { try lock.withLock { try flushLocked() } }

    private func flushLocked() throws {
        guard !pending.isEmpty else { return }
        try repository.writeIndex(IndexFile(packs: pending))
        pending.removeAll()
        pendingBlobs = 0
    }
}
