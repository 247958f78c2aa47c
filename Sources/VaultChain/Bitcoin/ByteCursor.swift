/// Reads Bitcoin's serialisation (little-endian integers, CompactSize counts) from bytes that came
/// from storage: every read is bounds-checked and fails with `ByteCursor.Overrun` instead of trapping.
struct ByteCursor {
    struct Overrun: Error {}

    let bytes: UnsafeRawBufferPointer
    var position: Int

    init(_ bytes: UnsafeRawBufferPointer, at position: Int = 0) { self.bytes = bytes; self.position = position }

    var remaining: Int { bytes.count - position }

    @inline(__always) mutating func skip(_ n: Int) throws {
        guard n >= 0, n <= remaining else { throw Overrun() }
        position += n
    }

    @inline(__always) mutating func u8() throws -> UInt8 {
        guard remaining >= 1 else { throw Overrun() }
        defer { position += 1 }
        return bytes[position]
    }

    @inline(__always) mutating func u32() throws -> UInt32 {
        guard remaining >= 4 else { throw Overrun() }
        defer { position += 4 }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self))
    }

    @inline(__always) func peek(_ offset: Int) -> UInt8? {
        position + offset < bytes.count ? bytes[position + offset] : nil
    }

    /// CompactSize; a count larger than the bytes left cannot be honest (every element takes at
    /// least one byte), so it fails here rather than after a huge allocation.
    @inline(__always) mutating func count() throws -> Int {
        let first = try u8()
        var value: UInt64
        switch first {
        case 0xfd:
            guard remaining >= 2 else { throw Overrun() }
            value = UInt64(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt16.self)))
            position += 2
        case 0xfe:
            value = UInt64(try u32())
        case 0xff:
            guard remaining >= 8 else { throw Overrun() }
            value = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
            position += 8
        default:
            value = UInt64(first)
        }
        guard value <= UInt64(remaining) else { throw Overrun() }
        return Int(value)
    }

    func slice(_ from: Int, _ to: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[from..<to])
    }
}
