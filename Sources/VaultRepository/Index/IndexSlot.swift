import VaultCore

/// One blob of the in-memory index in 48 bytes and no references (a `Dictionary` of structs cost
/// ~258 bytes per blob: issue 17). The pack is an ordinal into `MasterIndex`'s pack table; type,
/// compression and "offset too wide" ride in the ordinal's top bits. Nothing here is stored.
struct IndexSlot {
    var id: BlobID
    /// Bits 0-28: pack ordinal; 29: the offset is in the wide-offset table; 30: zstd; 31: tree.
    var packBits: UInt32
    var offsetLow: UInt32
    var storedLength: UInt32
    var rawLength: UInt32

    /// 2^29 packs of ~16 MiB is 8 PiB: far beyond any repository, checked where ordinals are made.
    static let maxPacks = 1 << 29
    static let wideBit: UInt32 = 1 << 29
    static let zstdBit: UInt32 = 1 << 30
    static let treeBit: UInt32 = 1 << 31

    init(_ e: PackEntry, pack: UInt32) {
        var bits = pack
        if e.offset > UInt64(UInt32.max) { bits |= Self.wideBit }
        if e.compression == .zstd { bits |= Self.zstdBit }
        if e.type == .tree { bits |= Self.treeBit }
        self.id = e.id; self.packBits = bits; self.offsetLow = UInt32(truncatingIfNeeded: e.offset)
        self.storedLength = e.storedLength; self.rawLength = e.rawLength
    }

    var pack: UInt32 { packBits & (Self.wideBit - 1) }
    var isWide: Bool { packBits & Self.wideBit != 0 }

    /// The entry back; `wide` supplies offsets above 4 GiB (never written by chainvault's 16 MiB
    /// packs, but an index may claim them and must then fail where the offset is used, not here).
    func entry(wide: UInt64?) -> PackEntry {
        PackEntry(
            type: packBits & Self.treeBit != 0 ? .tree : .data,
            compression: packBits & Self.zstdBit != 0 ? .zstd : .none, id: id,
            offset: wide ?? UInt64(offsetLow), storedLength: storedLength, rawLength: rawLength)
    }

    /// Sort order: id, then the earliest registered pack, then offset, so that of several copies
    /// of one blob the first one wins (as the first index file read did before).
    @inline(__always)
    static func precedes(_ a: IndexSlot, _ b: IndexSlot) -> Bool {
        if a.id.w0 != b.id.w0 { return a.id.w0 < b.id.w0 }
        if a.id.w1 != b.id.w1 { return a.id.w1 < b.id.w1 }
        if a.id.w2 != b.id.w2 { return a.id.w2 < b.id.w2 }
        if a.id.w3 != b.id.w3 { return a.id.w3 < b.id.w3 }
        if a.pack != b.pack { return a.pack < b.pack }
        return a.offsetLow < b.offsetLow
    }
}

/// Key of the (normally empty) table of offsets that do not fit 32 bits.
struct WideOffsetKey: Hashable {
    let id: BlobID
    let pack: UInt32
}
