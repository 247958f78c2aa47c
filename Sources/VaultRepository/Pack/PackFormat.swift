import VaultCore

/// One blob's place in a pack, as the pack header and the index record it.
public struct PackEntry: Sendable, Equatable {
    public var type: BlobType
    public var compression: Compression
    public var id: BlobID
    /// Offset of the sealed blob in the pack; also the GCM nonce counter (unique within the pack).
    public var offset: UInt64
    /// Sealed length: stored payload plus the 16-byte tag.
    public var storedLength: UInt32
    /// Plaintext length.
    public var rawLength: UInt32

    public init(
        type: BlobType, compression: Compression, id: BlobID, offset: UInt64, storedLength: UInt32, rawLength: UInt32
    ) {
        self.type = type; self.compression = compression; self.id = id
        self.offset = offset; self.storedLength = storedLength; self.rawLength = rawLength
    }

    static let encodedSize = 50

    func encode(into w: inout ByteWriter) {
        w.u8(type.rawValue); w.u8(compression.rawValue); w.digest(id)
        w.u64(offset); w.u32(storedLength); w.u32(rawLength)
    }

    static func decode(_ r: inout ByteReader, what: String) throws -> PackEntry {
        let t = try r.u8(), c = try r.u8()
        guard let type = BlobType(rawValue: t), let compression = Compression(rawValue: c) else {
            throw VaultError(.corrupt, "\(what) has a blob entry of unknown type \(t) or compression \(c)")
        }
        return PackEntry(
            type: type, compression: compression, id: try r.digest(), offset: try r.u64(),
            storedLength: try r.u32(), rawLength: try r.u32())
    }

    /// The AAD of a blob: its type, compression and id, so a blob cannot be passed off as another.
    var aad: [UInt8] {
        var a: [UInt8] = [type.rawValue, compression.rawValue]
        id.append(to: &a)
        return a
    }
}

/// Pack layout (FORMAT.md, "Packs"):
///
///     "CVP1" | 4 zero bytes | salt (32) | sealed blob… | sealed header | header length u32 LE
public enum PackFormat {
    static let magic: [UInt8] = Array("CVP1".utf8)
    public static let preambleSize = 40
    static let info = Array("chainvault pack v1".utf8)
    static let headerNonce = UInt64.max
    static let headerMagic: [UInt8] = Array("CVPH".utf8)
    /// Far above any real pack (16 MiB of 1 MiB chunks is ~16 blobs; tree packs hold more but smaller
    /// blobs); a bound so that a hostile length cannot make us allocate gigabytes.
    static let maxHeaderEntries = 1 << 20

    public static func subkey(master: SecretBytes, salt: [UInt8]) -> SecretBytes {
        master.withUnsafeBytes { HKDF.sha256(ikm: $0, salt: salt, info: info, length: 32) }
    }

    static func encodeHeader(_ entries: [PackEntry]) -> [UInt8] {
        var w = ByteWriter(capacity: 8 + entries.count * PackEntry.encodedSize)
        w.raw(headerMagic)
        w.u32(UInt32(entries.count))
        for e in entries { e.encode(into: &w) }
        return w.bytes
    }

    /// A decrypted pack header's entries (public for independent readers and the fuzz target).
    public static func decodeHeader(_ bytes: [UInt8], what: String) throws -> [PackEntry] {
        var r = ByteReader(bytes, what: what)
        guard try r.raw(4) == headerMagic else { throw VaultError(.corrupt, "\(what) has a bad header magic") }
        let count = Int(try r.u32())
        guard count <= maxHeaderEntries, count * PackEntry.encodedSize == r.remaining else {
            throw VaultError(.corrupt, "\(what) header claims \(count) entries in \(r.remaining) bytes")
        }
        var entries: [PackEntry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count { entries.append(try PackEntry.decode(&r, what: what)) }
        return entries
    }

    /// Reads and authenticates a whole pack's header. `tail` must be the pack's last bytes (at least
    /// the header and its length field); `salt` is from the preamble.
    public static func parseHeader(
        tail: [UInt8], packSize: Int, salt: [UInt8], master: SecretBytes,
        what: String
    ) throws -> [PackEntry] {
        guard tail.count >= 4 else { throw VaultError(.corrupt, "\(what) is too short to hold a header") }
        let headerLength = Int(
            tail.withUnsafeBytes {
                UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: tail.count - 4, as: UInt32.self))
            })
        guard headerLength >= AESGCM.tagSize, headerLength + 4 <= tail.count,
            headerLength + 4 + preambleSize <= packSize
        else {
            throw VaultError(
                .corrupt, "\(what) has an impossible header length \(headerLength)",
                hint: "the pack is truncated or damaged; run 'chainvault verify --read-data'")
        }
        let sealed = Array(tail[(tail.count - 4 - headerLength)..<(tail.count - 4)])
        var preamble = magic + [0, 0, 0, 0]
        preamble += salt
        let key = subkey(master: master, salt: salt)
        var plain: [UInt8] = []
        let ok = key.withUnsafeBytes { k in
            preamble.withUnsafeBytes { aad in
                sealed.withUnsafeBytes { s in
                    AESGCM().open(
                        key: k, nonce: AESGCM.nonce(counter: headerNonce), aad: aad, sealed: s, appendingTo: &plain)
                }
            }
        }
        guard ok else {
            throw VaultError(
                .corrupt, "\(what) header failed authentication",
                hint: "the pack was altered or damaged; run 'chainvault verify --read-data'")
        }
        let entries = try decodeHeader(plain, what: what)
        let dataEnd = UInt64(packSize - 4 - headerLength)
        var expected = UInt64(preambleSize)
        for e in entries {
            guard e.offset == expected, e.storedLength >= AESGCM.tagSize, e.offset + UInt64(e.storedLength) <= dataEnd
            else {
                throw VaultError(.corrupt, "\(what) header has an entry for \(e.id.shortHex) outside the pack's data")
            }
            expected += UInt64(e.storedLength)
        }
        guard expected == dataEnd else {
            throw VaultError(.corrupt, "\(what) has \(dataEnd - expected) bytes no header entry covers")
        }
        return entries
    }

    public static func checkPreamble(_ bytes: [UInt8], what: String) throws -> [UInt8] {
        guard bytes.count >= preambleSize, Array(bytes[0..<4]) == magic else {
            throw VaultError(
                .corrupt, "\(what) is not a chainvault pack (bad magic)",
                hint: "the pack was damaged or replaced; run 'chainvault verify --read-data'")
        }
        return Array(bytes[8..<40])
    }
}
