import Foundation

/// The bulk of the in-memory index: one malloc'd array of `IndexSlot`s sorted by blob id, with a
/// directory of bucket starts by the id's top bits, so a lookup is one directory read and a binary
/// search over ~4 slots. Ids are SHA-256 outputs, hence uniform: buckets stay small whatever the
/// data (a skewed id set only makes them larger, never wrong).
///
/// Memory: 48 bytes per blob and ~1 for the directory. Growth is by `realloc`: glibc moves large
/// blocks with `mremap`, without copying, and pages never written are not resident, so neither
/// growth nor the in-place sort and merge below needs a second copy of the array.
///
/// Not thread-safe: `MasterIndex` holds its lock around every call.
final class SlotTable {
    private var slots: UnsafeMutablePointer<IndexSlot>?
    private(set) var count = 0
    private var capacity = 0
    /// `[0, sortedCount)` is sorted with one slot per id; `[sortedCount, count)` was appended by a
    /// bulk load and is sorted in by `seal()`.
    private var sortedCount = 0
    private var directory: [UInt32] = [0, 0]
    private var bucketBits = 0

    deinit { free(slots) }

    var isSealed: Bool { sortedCount == count }

    func reserve(_ n: Int) { if n > capacity { resize(to: n) } }

    func removeAll() {
        free(slots); slots = nil
        count = 0; capacity = 0; sortedCount = 0; directory = [0, 0]; bucketBits = 0
    }

    private func resize(to n: Int) {
        precondition(n < Int(UInt32.max), "the in-memory index holds at most 2^32 blobs")
        guard let p = realloc(slots, max(n, 1) * MemoryLayout<IndexSlot>.stride) else {
            fatalError("cannot allocate the index for \(n) blobs")
        }
        slots = p.assumingMemoryBound(to: IndexSlot.self)
        capacity = n
    }

    /// Appends to the unsorted part (bulk load). Doubling only reserves address space.
    func append(_ slot: IndexSlot) {
        if count == capacity { resize(to: max(4096, capacity * 2)) }
        slots![count] = slot
        count += 1
    }

    /// Sorts everything in, keeps the first of several copies of one blob (lowest pack ordinal:
    /// the pack registered first), gives back unused capacity and rebuilds the directory.
    func seal() {
        guard !isSealed, let p = slots else { return }
        SlotSort.sort(p, count: count)
        var kept = 0
        for i in 0..<count where kept == 0 || p[kept - 1].id != p[i].id {
            p[kept] = p[i]
            kept += 1
        }
        count = kept
        sortedCount = kept
        resize(to: kept)
        rebuildDirectory()
    }

    /// Merges `extra` (sorted, none of its ids present) into a sealed table, from the back, in place.
    func merge(_ extra: [IndexSlot]) {
        precondition(isSealed)
        guard !extra.isEmpty else { return }
        let n = count
        resize(to: n + extra.count)
        let p = slots!
        var i = n - 1, j = extra.count - 1, k = n + extra.count - 1
        while j >= 0 {
            if i >= 0, SlotTable.less(extra[j].id, p[i].id) { p[k] = p[i]; i -= 1 } else { p[k] = extra[j]; j -= 1 }
            k -= 1
        }
        count = n + extra.count
        sortedCount = count
        rebuildDirectory()
    }

    func find(_ id: BlobID) -> IndexSlot? {
        precondition(isSealed)
        guard let p = slots else { return nil }
        let b = bucket(id)
        var lo = Int(directory[b]), hi = Int(directory[b + 1])
        while lo < hi {
            let mid = (lo + hi) >> 1
            if SlotTable.less(p[mid].id, id) { lo = mid + 1 } else { hi = mid }
        }
        return lo < count && p[lo].id == id ? p[lo] : nil
    }

    func forEach(_ body: (IndexSlot) -> Void) {
        guard let p = slots else { return }
        for i in 0..<count { body(p[i]) }
    }

    // About four slots per bucket (at most 2^24 buckets, 64 MiB of directory for 64 M blobs).
    private func rebuildDirectory() {
        var bits = 0
        while bits < 24, (count >> (bits + 2)) > 1 { bits += 1 }
        bucketBits = bits
        let buckets = 1 << bits
        var dir = [UInt32](repeating: UInt32(count), count: buckets + 1)
        if let p = slots {
            var next = 0
            for i in 0..<count {
                let b = bucket(p[i].id)
                while next <= b { dir[next] = UInt32(i); next += 1 }
            }
        }
        directory = dir
    }

    @inline(__always)
    private func bucket(_ id: BlobID) -> Int { bucketBits == 0 ? 0 : Int(id.w0 >> UInt64(64 - bucketBits)) }

    @inline(__always)
    static func less(_ a: BlobID, _ b: BlobID) -> Bool {
        if a.w0 != b.w0 { return a.w0 < b.w0 }
        if a.w1 != b.w1 { return a.w1 < b.w1 }
        if a.w2 != b.w2 { return a.w2 < b.w2 }
        return a.w3 < b.w3
    }
}
