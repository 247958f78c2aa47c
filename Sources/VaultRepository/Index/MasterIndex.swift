import Foundation
import VaultCore

/// Where a blob lives, resolved: the pack, its salt, and the blob's entry.
public struct BlobLocation: Sendable {
    public let pack: SHA256Digest
    public let salt: [UInt8]
    public let entry: PackEntry

    public init(pack: SHA256Digest, salt: [UInt8], entry: PackEntry) { self.pack = pack; self.salt = salt; self.entry = entry }
}

/// Every index file merged in memory: blob id → location. Compact (packs by ordinal) because a
/// 2 TB node is ~2 million chunks. Thread-safe; backup adds while workers look up.
public final class MasterIndex: @unchecked Sendable {
    private struct Slot {
        var pack: UInt32
        var offset: UInt64
        var storedLength: UInt32
        var rawLength: UInt32
        var type: BlobType
        var compression: Compression
    }

    private let lock = NSLock()
    private var packIDs: [SHA256Digest] = []
    private var packSalts: [[UInt8]] = []
    private var packOrdinals: [SHA256Digest: UInt32] = [:]
    private var blobs: [BlobID: Slot] = [:]

    public init() {}

    public func add(_ pack: IndexedPack) {
        lock.withLock {
            let ordinal: UInt32
            if let existing = packOrdinals[pack.id] { ordinal = existing } else {
                ordinal = UInt32(packIDs.count)
                packIDs.append(pack.id)
                packSalts.append(pack.salt)
                packOrdinals[pack.id] = ordinal
            }
            for e in pack.entries where blobs[e.id] == nil {
                blobs[e.id] = Slot(pack: ordinal, offset: e.offset, storedLength: e.storedLength, rawLength: e.rawLength,
                                   type: e.type, compression: e.compression)
            }
        }
    }

    public func lookup(_ id: BlobID) -> BlobLocation? {
        lock.withLock {
            guard let s = blobs[id] else { return nil }
            return BlobLocation(pack: packIDs[Int(s.pack)], salt: packSalts[Int(s.pack)],
                                entry: PackEntry(type: s.type, compression: s.compression, id: id, offset: s.offset,
                                                 storedLength: s.storedLength, rawLength: s.rawLength))
        }
    }

    public func contains(_ id: BlobID) -> Bool { lock.withLock { blobs[id] != nil } }

    public var packs: Set<SHA256Digest> { lock.withLock { Set(packIDs) } }
    public var blobCount: Int { lock.withLock { blobs.count } }

    /// Sum of stored bytes of all indexed blobs.
    public var storedBytes: UInt64 { lock.withLock { blobs.values.reduce(0) { $0 + UInt64($1.storedLength) } } }
}
