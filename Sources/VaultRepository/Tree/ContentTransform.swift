import VaultCore

/// How a file's stored bytes differ from its bytes on disk (tree format v3, FORMAT.md §7). Only
/// `xor8` exists: Bitcoin Core (v28+) XORs `blk*.dat`/`rev*.dat` with the 8-byte key of its
/// `blocks/xor.dat`, `disk[o] = plain[o] ^ key[o % 8]`, for the bytes it wrote, and leaves the
/// preallocated zero tail raw. A backup stores the plain bytes of `0..<length` (so two nodes with
/// different keys store the same chunks) and the bytes from `length` on as they are; a restore
/// XORs `0..<length` again. XOR is its own inverse, so `apply` goes both ways, and the result is
/// byte-identical whatever `length` was chosen: a wrong guess costs only deduplication.
public struct ContentTransform: Sendable, Equatable {
    /// The key as read from `xor.dat` (8 bytes, not all zero).
    public let key: [UInt8]
    /// File offsets `0..<length` are XORed; no zero run of the file may overlap them.
    public let length: UInt64

    /// nil for a key that is not 8 bytes or is all zeros (Bitcoin Core then does not obfuscate),
    /// or for an empty range: there is nothing to record.
    public init?(xor8 key: [UInt8], length: UInt64) {
        guard key.count == 8, key.contains(where: { $0 != 0 }), length > 0 else { return nil }
        self.key = key; self.length = length
    }

    /// XORs the part of `bytes` (found at file offset `offset`) that lies below `length`, eight
    /// bytes at a time with the key rotated to the offset.
    public func apply(_ bytes: UnsafeMutableRawBufferPointer, at offset: UInt64) {
        guard offset < length, bytes.count > 0 else { return }
        let count = Int(min(UInt64(bytes.count), length - offset))
        var rotated: UInt64 = 0
        for j in 0..<8 { rotated |= UInt64(key[Int((offset &+ UInt64(j)) % 8)]) << (8 * UInt64(j)) }
        let word = rotated.littleEndian
        let words = count / 8
        for i in 0..<words {
            let v = bytes.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
            bytes.storeBytes(of: v ^ word, toByteOffset: i * 8, as: UInt64.self)
        }
        for i in (words * 8)..<count { bytes[i] ^= key[Int((offset &+ UInt64(i)) % 8)] }
    }

    /// `apply` on an array's first `count` bytes.
    public func apply(_ bytes: inout [UInt8], count: Int, at offset: UInt64) {
        bytes.withUnsafeMutableBytes { apply(UnsafeMutableRawBufferPointer(rebasing: $0[0..<count]), at: offset) }
    }
}

extension Node {
    /// `transform` applied to a chunk's bytes at `offset` (nothing without one).
    public func transformChunk(_ bytes: inout [UInt8], count: Int, at offset: UInt64) {
        transform?.apply(&bytes, count: count, at: offset)
    }
}
