/// The fixed parts of an era1 file (go-ethereum internal/era/era.go; e2store-format-specs
/// formats/era1.md): `Version | block-tuple* | other-entries* | Accumulator | BlockIndex`, each
/// block tuple `CompressedHeader | CompressedBody | CompressedReceipts | TotalDifficulty`.
public enum Era1Type {
    public static let version: UInt16 = 0x3265
    public static let header: UInt16 = 0x03
    public static let body: UInt16 = 0x04
    public static let receipts: UInt16 = 0x05
    public static let totalDifficulty: UInt16 = 0x06
    public static let accumulator: UInt16 = 0x07
    public static let blockIndex: UInt16 = 0x3266
}

/// The block index and accumulator at an era1 file's end, read and checked before any block.
public struct Era1Layout: Equatable {
    public var start: UInt64
    /// File offsets of each block's CompressedHeader entry (stored relative to the index entry).
    public var offsets: [UInt64]
    public var accumulatorOffset: UInt64
    public var storedRoot: EthHash
    public var count: Int { offsets.count }

    /// Reads the tail: count (last 8 bytes), the index entry (`start u64 | offsets i64[count] |
    /// count u64`, offsets relative to the index entry's first byte) and the accumulator entry
    /// right before it. Every offset must point after the version entry and before the accumulator,
    /// strictly increasing.
    public static func read(_ reader: inout E2StoreReader) throws -> Era1Layout {
        let size = reader.size
        guard size >= 8 + 40 + 32 else { throw GethFormatError(Int(size), "era1 file too small to hold its index") }
        var countRaw: UInt64 = 0
        let n = try withUnsafeMutableBytes(of: &countRaw) { try reader.readFully(at: size - 8, into: $0) }
        guard n == 8 else { throw GethFormatError(Int(size - 8), "era1 block count unreadable") }
        let count = UInt64(littleEndian: countRaw)
        guard count >= 1, count <= UInt64(EpochAccumulator.maxRecords) else {
            throw GethFormatError(Int(size - 8), "era1 block count \(count) is outside 1...8192")
        }
        let indexLength = 16 + 8 * count
        guard size >= 8 + 40 + 8 + indexLength else {
            throw GethFormatError(Int(size - 8), "era1 block count \(count) does not fit the file")
        }
        let indexOffset = size - 8 - indexLength
        let index = try reader.header(at: indexOffset)
        guard index.type == Era1Type.blockIndex, index.length == Int(indexLength) else {
            throw GethFormatError(Int(indexOffset), "era1 block index entry missing at the end of the file")
        }
        let accumulatorOffset = indexOffset - 40
        let acc = try reader.header(at: accumulatorOffset)
        guard acc.type == Era1Type.accumulator, acc.length == 32 else {
            throw GethFormatError(Int(accumulatorOffset), "era1 accumulator entry missing before the block index")
        }
        let root = try reader.withValue(acc) { EthHash($0, at: 0) }
        return try reader.withValue(index) { v in
            let start = UInt64(littleEndian: v.loadUnaligned(as: UInt64.self))
            guard start <= UInt64.max - count else {
                throw GethFormatError(Int(indexOffset + 8), "era1 starting number overflows")
            }
            var offsets: [UInt64] = []
            offsets.reserveCapacity(Int(count))
            var previous: UInt64 = 7
            for i in 0..<Int(count) {
                let rel = Int64(littleEndian: v.loadUnaligned(fromByteOffset: 8 + 8 * i, as: Int64.self))
                let abs = Int64(indexOffset).addingReportingOverflow(rel)
                guard !abs.overflow, abs.partialValue > Int64(previous),
                    abs.partialValue < Int64(accumulatorOffset)
                else {
                    let what = "era1 block index offset \(i) is out of order or outside the blocks"
                    throw GethFormatError(Int(indexOffset + 16) + 8 * i, what)
                }
                previous = UInt64(abs.partialValue)
                offsets.append(previous)
            }
            return Era1Layout(start: start, offsets: offsets, accumulatorOffset: accumulatorOffset, storedRoot: root)
        }
    }
}
