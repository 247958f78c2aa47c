/// Decoder for snappy's block format (google/snappy format_description.txt): a varint
/// uncompressed length, then literals and back-references. Every length and offset is checked
/// against both the input and the declared output before a byte is copied, so hostile input can
/// neither read nor write out of bounds, and the output size is known (and bounded) up front.
public enum SnappyBlock {
    /// The declared uncompressed length and the size of its varint.
    public static func decodedLength(_ src: UnsafeRawBufferPointer) throws -> (length: Int, headerSize: Int) {
        var value: UInt64 = 0
        for i in 0..<min(5, src.count) {
            let b = src[i]
            value |= UInt64(b & 0x7f) << (7 * UInt64(i))
            if b & 0x80 == 0 {
                guard value <= UInt64(UInt32.max) else { throw GethFormatError(0, "snappy length too large") }
                return (Int(value), i + 1)
            }
        }
        throw GethFormatError(0, "snappy length varint is malformed")
    }

    /// Decodes `src` into `dst`, whose size must be the declared length (see `decodedLength`).
    public static func decode(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer) throws {
        let (length, header) = try decodedLength(src)
        guard length == dst.count else { throw GethFormatError(0, "snappy output size mismatch") }
        let n = src.count
        var s = header, d = 0
        while s < n {
            let tag = src[s]
            let at = s
            s += 1
            var len: Int, offset: Int
            switch tag & 3 {
            case 0:
                len = Int(tag >> 2)
                if len >= 60 {
                    let extra = len - 59
                    guard n - s >= extra else { throw GethFormatError(at, "snappy literal length cut short") }
                    len = 0
                    for k in 0..<extra { len |= Int(src[s + k]) << (8 * k) }
                    s += extra
                }
                len += 1
                guard len <= n - s, len <= length - d else {
                    throw GethFormatError(at, "snappy literal runs past the end")
                }
                dst.baseAddress!.advanced(by: d).copyMemory(from: src.baseAddress!.advanced(by: s), byteCount: len)
                s += len; d += len
                continue
            case 1:
                guard s < n else { throw GethFormatError(at, "snappy copy cut short") }
                len = 4 + Int((tag >> 2) & 7)
                offset = Int(tag >> 5) << 8 | Int(src[s])
                s += 1
            case 2:
                guard n - s >= 2 else { throw GethFormatError(at, "snappy copy cut short") }
                len = 1 + Int(tag >> 2)
                offset = Int(src.loadUnaligned(fromByteOffset: s, as: UInt16.self).littleEndian)
                s += 2
            default:
                guard n - s >= 4 else { throw GethFormatError(at, "snappy copy cut short") }
                len = 1 + Int(tag >> 2)
                offset = Int(src.loadUnaligned(fromByteOffset: s, as: UInt32.self).littleEndian)
                s += 4
            }
            guard offset > 0, offset <= d else { throw GethFormatError(at, "snappy copy offset \(offset) is invalid") }
            guard len <= length - d else { throw GethFormatError(at, "snappy copy runs past the end") }
            let base = dst.baseAddress!.assumingMemoryBound(to: UInt8.self)
            if offset >= len {
                (base + d).update(from: base + d - offset, count: len)
            } else {
                // Overlapping copy: a run that repeats the last `offset` bytes, copied forwards.
                for k in 0..<len { base[d + k] = base[d - offset + k] }
            }
            d += len
        }
        guard d == length else { throw GethFormatError(n, "snappy output is \(d) bytes, declared \(length)") }
    }

    /// Decodes into `out` (resized to the declared length), refusing outputs above `limit` bytes.
    public static func decode(_ src: UnsafeRawBufferPointer, into out: inout [UInt8], limit: Int) throws {
        let (length, _) = try decodedLength(src)
        guard length <= limit else { throw GethFormatError(0, "snappy output of \(length) bytes exceeds \(limit)") }
        if out.count != length { out = [UInt8](repeating: 0, count: length) }
        try out.withUnsafeMutableBytes { try decode(src, into: $0) }
    }
}
