import Foundation
import VaultCore

/// Where a blob lives, resolved: the pack, its salt, and the blob's entry.
public struct BlobLocation: Sendable {
    public let pack: PackID
    public let salt: [UInt8]
    public let entry: PackEntry

    public init(pack: PackID, salt: [UInt8], entry: PackEntry) {
        self.pack = pack; self.salt = salt; self.entry = entry
    }
}

/// Every index file merged in memory: blob id → location, in ~49 bytes per blob, because a 10 TB
/// node is ~10 million chunks and the server's memory belongs to the node (issue 17).
///
/// Two parts: a sorted `SlotTable` (filled by `load`, sorted once by `seal`), and `recent`, a small
/// dictionary of blobs `add`ed since (the running backup's packs), merged into the table whenever
/// it reaches 1/32 of it. Of several copies of one blob, a lookup returns one in the pack
/// registered first; callers that need every copy (check, prune) read the index files themselves.
///
/// Thread-safe: every access holds `lock` (backup adds while its workers look up; a lookup is a
/// directory read and a few comparisons, so the lock is held for well under a microsecond).
/// @unchecked for that reason: the fields are behind an `NSLock`, held across several of them.
public final class MasterIndex: @unchecked Sendable {
    private let lock = NSLock()
    private var packIDs: [PackID] = []
    private var packSalts: [[UInt8]] = []
    private var packOrdinals: [PackID: UInt32] = [:]
    private let table = SlotTable()
    private var recent: [BlobID: IndexSlot] = [:]
    /// Offsets above 4 GiB; chainvault never writes them (packs are ~16 MiB), so this stays empty.
    private var wide: [WideOffsetKey: UInt64] = [:]

    /// Below this many recent blobs no merge happens (a merge moves the whole table).
    static let minimumRecent = 16384

    public init() {}

    /// Adds a pack's blobs at once, for blobs added while others look up (a running backup).
    public func add(_ pack: IndexedPack) {
        lock.withLock {
            table.seal()
            let ordinal = ordinalLocked(pack)
            for e in pack.entries where recent[e.id] == nil && table.find(e.id) == nil {
                recent[e.id] = slotLocked(e, ordinal)
            }
            if recent.count >= max(Self.minimumRecent, table.count / 32) { mergeRecentLocked() }
        }
    }

    /// Adds packs for the next `seal()` (or lookup) to sort in: the cheap way to load index files.
    public func load(_ packs: [IndexedPack]) {
        lock.withLock {
            // What `add` put in `recent` goes into the table first, so no blob is in both.
            if !recent.isEmpty { table.seal(); mergeRecentLocked() }
            for pack in packs {
                let ordinal = ordinalLocked(pack)
                for e in pack.entries { table.append(slotLocked(e, ordinal)) }
            }
        }
    }

    /// Room for `blobs` loaded blobs (an upper bound is fine: untouched pages cost no memory).
    public func reserve(blobs: Int) { lock.withLock { table.reserve(table.count + blobs) } }

    /// Sorts what `load` added; lookups do it themselves when needed, this only chooses when.
    public func seal() { lock.withLock { table.seal() } }

    public func removeAll() {
        lock.withLock {
            table.removeAll(); recent = [:]; wide = [:]
            packIDs = []; packSalts = []; packOrdinals = [:]
        }
    }

    public func lookup(_ id: BlobID) -> BlobLocation? {
        lock.withLock {
            guard let s = findLocked(id) else { return nil }
            let pack = Int(s.pack)
            return BlobLocation(
                pack: packIDs[pack], salt: packSalts[pack],
                entry: s.entry(wide: s.isWide ? wide[WideOffsetKey(id: id, pack: s.pack)] : nil))
        }
    }

    public func contains(_ id: BlobID) -> Bool { lock.withLock { findLocked(id) != nil } }

    public var packs: Set<PackID> { lock.withLock { Set(packIDs) } }
    public var blobCount: Int {
        lock.withLock {
            table.seal(); return table.count + recent.count
        }
    }

    /// Sum of stored bytes of all indexed blobs.
    public var storedBytes: UInt64 {
        lock.withLock {
            table.seal()
            var sum: UInt64 = 0
            table.forEach { sum += UInt64($0.storedLength) }
            for s in recent.values { sum += UInt64(s.storedLength) }
            return sum
        }
    }

    private func findLocked(_ id: BlobID) -> IndexSlot? {
        table.seal()
        return table.find(id) ?? (recent.isEmpty ? nil : recent[id])
    }

    private func ordinalLocked(_ pack: IndexedPack) -> UInt32 {
        if let existing = packOrdinals[pack.id] { return existing }
        precondition(packIDs.count < IndexSlot.maxPacks, "the in-memory index holds at most 2^29 packs")
        let ordinal = UInt32(packIDs.count)
        packIDs.append(pack.id)
        packSalts.append(pack.salt)
        packOrdinals[pack.id] = ordinal
        return ordinal
    }

    private func slotLocked(_ e: PackEntry, _ ordinal: UInt32) -> IndexSlot {
        let slot = IndexSlot(e, pack: ordinal)
        if slot.isWide {
            let key = WideOffsetKey(id: e.id, pack: ordinal)
            if wide[key] == nil { wide[key] = e.offset }
        }
        return slot
    }

    private func mergeRecentLocked() {
        var extra = Array(recent.values)
        recent = [:]
        extra.withUnsafeMutableBufferPointer { SlotSort.sort($0.baseAddress!, count: $0.count) }
        table.merge(extra)
    }
}
