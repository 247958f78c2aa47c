import Foundation
import VaultCore

/// Blob ids already stored or being stored by this saver: the deduplication decision. A claim
/// lasts until the blob's pack is in the index (`settle`), so `claimed` holds only blobs in flight
/// (open packs and held tree packs), not every blob of a first backup (issue 17: memory per blob).
final class DedupSet: @unchecked Sendable {
    // Safe: `claimed` is only read and written under `lock`; `MasterIndex` locks itself.
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
