/// Decoder for snappy's framing format (google/snappy framing_format.txt), which era1 uses for
/// headers, bodies and receipts: a stream identifier, then chunks of a type byte and a 24-bit
/// little-endian length; data chunks carry the masked CRC-32C of their uncompressed bytes, which
/// is checked for every chunk.
public struct SnappyFrameDecoder {
    /// The format caps a data chunk's uncompressed size at 65536 bytes.
    static let maxChunk = 65_536
    static let streamIdentifier: [UInt8] = [0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]

    /// The decoded bytes of the last `decode` are `output[0..<count]`; the buffer is reused.
    public private(set) var output: [UInt8] = []
    public private(set) var count = 0

    public init() {}

    /// Decodes a whole framed stream, refusing more than `limit` decoded bytes.
    public mutating func decode(_ src: UnsafeRawBufferPointer, limit: Int) throws {
        count = 0
        var s = 0
        var sawIdentifier = false
        while s < src.count {
            guard src.count - s >= 4 else { throw GethFormatError(s, "snappy chunk header cut short") }
            let type = src[s]
            let length = Int(src[s + 1]) | Int(src[s + 2]) << 8 | Int(src[s + 3]) << 16
            let body = s + 4
            guard length <= src.count - body else { throw GethFormatError(s, "snappy chunk runs past the end") }
            if type == 0xff {
                let id = UnsafeRawBufferPointer(rebasing: src[s..<body + length])
                guard id.elementsEqual(Self.streamIdentifier) else {
                    throw GethFormatError(s, "snappy stream identifier is wrong")
                }
                sawIdentifier = true
            } else {
                guard sawIdentifier else {
                    throw GethFormatError(s, "snappy stream does not start with its identifier")
                }
                switch type {
                case 0x00, 0x01:
                    try dataChunk(
                        UnsafeRawBufferPointer(rebasing: src[body..<body + length]), compressed: type == 0,
                        at: s, limit: limit)
                case 0x02...0x7f:
                    throw GethFormatError(s, "snappy chunk type \(type) is reserved and unskippable")
                default:
                    break  // 0x80...0xfe: padding and skippable chunks
                }
            }
            s = body + length
        }
        guard sawIdentifier else { throw GethFormatError(0, "snappy stream is empty") }
    }

    private mutating func dataChunk(_ chunk: UnsafeRawBufferPointer, compressed: Bool, at: Int, limit: Int) throws {
        guard chunk.count >= 4 else { throw GethFormatError(at, "snappy chunk too short for its checksum") }
        let stored = chunk.loadUnaligned(as: UInt32.self).littleEndian
        let payload = UnsafeRawBufferPointer(rebasing: chunk[4...])
        let length = compressed ? try SnappyBlock.decodedLength(payload).length : payload.count
        guard length <= Self.maxChunk else {
            throw GethFormatError(at, "snappy chunk of \(length) bytes exceeds 65536")
        }
        guard length <= limit - count else { throw GethFormatError(at, "snappy stream exceeds \(limit) bytes") }
        if output.count < count + length {
            output.append(contentsOf: repeatElement(0, count: count + length - output.count))
        }
        try output.withUnsafeMutableBytes { out in
            let dst = UnsafeMutableRawBufferPointer(rebasing: out[count..<count + length])
            if compressed {
                do { try SnappyBlock.decode(payload, into: dst) } catch let e as GethFormatError {
                    throw GethFormatError(at + 8 + e.offset, e.what)
                }
            } else {
                dst.copyMemory(from: payload)
            }
            guard CRC32C.masked(CRC32C.checksum(UnsafeRawBufferPointer(dst))) == stored else {
                throw GethFormatError(at, "snappy chunk checksum (crc32c) mismatch")
            }
        }
        count += length
    }

    /// The decoded bytes, valid until the next `decode`.
    public func withDecoded<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try output.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }
}
