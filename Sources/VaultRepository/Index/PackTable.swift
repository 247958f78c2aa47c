import Foundation
import VaultCore

/// Every pack of the index files as read, for the commands that go through the index pack by pack
/// and copy by copy (verify, prune): each pack's blobs lie contiguous in 48-byte `IndexSlot`s, in
/// the order the index file lists them; `seal` adds an order by blob id (4 bytes a blob, and a
/// bucket directory of ~1) for lookups; one mark bit a blob records "referenced". ~53 bytes a
/// blob in all, where a dictionary of packs with their entry arrays and sets of ids took ~520
/// (issue 17). Of a pack listed by several index files, the first one read counts.
///
/// Not thread-safe while it is filled; once sealed, lookups and `pack(_:)` may run on several
/// threads (marks may not: they are set by one walker).
/// @unchecked for that reason: the compiler cannot see the fill-then-seal rule.
public final class PackTable: @unchecked Sendable {
    private var slots: UnsafeMutablePointer<IndexSlot>?
    public private(set) var blobCount = 0
    private var capacity = 0
    private var packIDs: [PackID] = []
    private var packSalts: [[UInt8]] = []
    /// `packStart[k]..<packStart[k + 1]` are pack k's slots.
    private var packStart: [UInt32] = [0]
    private var ordinals: [PackID: UInt32] = [:]
    /// Offsets above 4 GiB by slot position (chainvault's packs never have them).
    private var wide: [Int: UInt64] = [:]
    /// Slot positions sorted by blob id, then position (so of several copies the first comes first).
    private var byID: [UInt32] = []
    private var directory: [UInt32] = [0, 0]
    private var bucketBits = 0
    private var marks: [UInt64] = []
    /// Some blob is listed more than once (found by `seal`).
    private var hasCopies = false

    public init() {}
    deinit { free(slots) }

    public var packCount: Int { packIDs.count }

    /// Adds a pack's blobs; false (and nothing added) when a pack of that id was added before.
    @discardableResult
    public func add(_ pack: IndexedPack) -> Bool {
        guard ordinals[pack.id] == nil else { return false }
        precondition(packIDs.count < IndexSlot.maxPacks && blobCount + pack.entries.count < Int(UInt32.max))
        let ordinal = UInt32(packIDs.count)
        ordinals[pack.id] = ordinal
        packIDs.append(pack.id)
        packSalts.append(pack.salt)
        if blobCount + pack.entries.count > capacity {
            grow(to: max(4096, capacity * 2, blobCount + pack.entries.count))
        }
        for e in pack.entries {
            let slot = IndexSlot(e, pack: ordinal)
            if slot.isWide { wide[blobCount] = e.offset }
            slots![blobCount] = slot
            blobCount += 1
        }
        packStart.append(UInt32(blobCount))
        return true
    }

    /// Room for `blobs` more blobs (an upper bound is fine: untouched pages cost no memory).
    public func reserve(blobs: Int) { if blobCount + blobs > capacity { grow(to: blobCount + blobs) } }

    private func grow(to n: Int) {
        guard let p = realloc(slots, max(n, 1) * MemoryLayout<IndexSlot>.stride) else {
            fatalError("cannot allocate the pack table for \(n) blobs")
        }
        slots = p.assumingMemoryBound(to: IndexSlot.self)
        capacity = n
    }

    public func removeAll() {
        free(slots); slots = nil; blobCount = 0; capacity = 0
        packIDs = []; packSalts = []; packStart = [0]; ordinals = [:]; wide = [:]
        byID = []; directory = [0, 0]; bucketBits = 0; marks = []; hasCopies = false
    }

    // MARK: Packs

    public func ordinal(of pack: PackID) -> Int? { ordinals[pack].map(Int.init) }
    public func packID(_ ordinal: Int) -> PackID { packIDs[ordinal] }
    public func blobRange(_ ordinal: Int) -> Range<Int> { Int(packStart[ordinal])..<Int(packStart[ordinal + 1]) }

    public func entry(at position: Int) -> PackEntry {
        let s = slots![position]
        return s.entry(wide: s.isWide ? wide[position] : nil)
    }

    /// The pack as the index listed it (its entries are built here: one pack at a time).
    public func pack(_ ordinal: Int) -> IndexedPack {
        IndexedPack(id: packIDs[ordinal], salt: packSalts[ordinal], entries: blobRange(ordinal).map(entry(at:)))
    }

    public func location(at position: Int) -> BlobLocation {
        let ordinal = Int(slots![position].pack)
        return BlobLocation(pack: packIDs[ordinal], salt: packSalts[ordinal], entry: entry(at: position))
    }

    // MARK: Lookups (after seal)

    /// Sorts the id order in: a counting sort by the id's top bits (ids are SHA-256 outputs, so
    /// buckets hold ~4), then each bucket by id, stable, so copies stay in position order.
    public func seal() {
        hasCopies = false
        var bits = 0
        while bits < 24, (blobCount >> (bits + 2)) > 1 { bits += 1 }
        bucketBits = bits
        var dir = [UInt32](repeating: 0, count: (1 << bits) + 1)
        guard let p = slots else { directory = dir; byID = []; marks = []; return }
        for i in 0..<blobCount { dir[bucket(p[i].id) + 1] += 1 }
        for b in 0..<(1 << bits) { dir[b + 1] += dir[b] }
        var order = [UInt32](repeating: 0, count: blobCount)
        var next = dir
        for i in 0..<blobCount {
            let b = bucket(p[i].id)
            order[Int(next[b])] = UInt32(i)
            next[b] += 1
        }
        next = []
        for b in 0..<(1 << bits) where dir[b + 1] - dir[b] > 1 {
            let lo = Int(dir[b]), hi = Int(dir[b + 1])
            for i in (lo + 1)..<hi {
                let x = order[i]
                var j = i
                while j > lo, SlotTable.less(p[Int(x)].id, p[Int(order[j - 1])].id) { order[j] = order[j - 1]; j -= 1 }
                order[j] = x
            }
            for i in (lo + 1)..<hi where p[Int(order[i])].id == p[Int(order[i - 1])].id { hasCopies = true; break }
        }
        byID = order
        directory = dir
        marks = [UInt64](repeating: 0, count: (blobCount + 63) / 64)
    }

    @inline(__always)
    private func bucket(_ id: BlobID) -> Int { bucketBits == 0 ? 0 : Int(id.w0 >> UInt64(64 - bucketBits)) }

    /// The position of the first copy of `id` (in the pack added first), if any.
    public func position(of id: BlobID) -> Int? {
        guard let p = slots, !byID.isEmpty else { return nil }
        let b = bucket(id)
        var lo = Int(directory[b]), hi = Int(directory[b + 1])
        while lo < hi {
            let mid = (lo + hi) >> 1
            if SlotTable.less(p[Int(byID[mid])].id, id) { lo = mid + 1 } else { hi = mid }
        }
        return lo < byID.count && p[Int(byID[lo])].id == id ? Int(byID[lo]) : nil
    }

    public func contains(_ id: BlobID) -> Bool { position(of: id) != nil }

    /// Whether some blob is listed more than once (known after `seal`).
    public var hasCopiesOfBlobs: Bool { hasCopies }

    public func id(at position: Int) -> BlobID { slots![position].id }
    public func packOrdinal(at position: Int) -> Int { Int(slots![position].pack) }
    public func storedLength(at position: Int) -> UInt32 { slots![position].storedLength }

    /// Every position that holds `id`, first copy first.
    public func positions(of id: BlobID) -> [Int] {
        guard let first = position(of: id) else { return [] }
        guard hasCopies else { return [first] }
        let b = bucket(id)
        return (Int(directory[b])..<Int(directory[b + 1])).map { Int(byID[$0]) }.filter { slots![$0].id == id }
    }
    public func lookup(_ id: BlobID) -> BlobLocation? { position(of: id).map(location(at:)) }

    // MARK: Marks

    public enum Mark { case absent, new, already }

    /// Marks the first copy of `id`.
    public func mark(_ id: BlobID) -> Mark {
        guard let i = position(of: id) else { return .absent }
        let bit: UInt64 = 1 << UInt64(i & 63)
        if marks[i >> 6] & bit != 0 { return .already }
        marks[i >> 6] |= bit
        return .new
    }

    /// Of several copies of a marked blob, moves the mark to a copy whose pack `exists` when the
    /// marked one's does not: prune keeps only the marked copy, and must never keep the copy in a
    /// pack the store no longer lists while it deletes the one that is there.
    public func settleMarks(onPacksWhere exists: (Int) -> Bool) {
        guard let p = slots, hasCopies else { return }
        var start = 0
        while start < byID.count {
            var end = start + 1
            let id = p[Int(byID[start])].id
            while end < byID.count, p[Int(byID[end])].id == id { end += 1 }
            if end - start > 1 {
                let copies = (start..<end).map { Int(byID[$0]) }
                if let marked = copies.first(where: { isMarked($0) }), !exists(Int(p[marked].pack)),
                    let present = copies.first(where: { exists(Int(p[$0].pack)) })
                {
                    marks[marked >> 6] &= ~(1 << UInt64(marked & 63))
                    marks[present >> 6] |= 1 << UInt64(present & 63)
                }
            }
            start = end
        }
    }

    /// Whether this copy is marked: of several copies of a blob only the first is (`mark`).
    public func isMarked(_ position: Int) -> Bool { marks[position >> 6] & (1 << UInt64(position & 63)) != 0 }
}
