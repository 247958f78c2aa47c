import Glibc
import VaultCore

/// A pack being written: blobs are sealed and appended to a spool file (so memory stays small
/// whatever the pack size), hashed as they go; `finish` adds the header, and
/// `Repository.storePack` makes it durable before it gets its name. Not thread-safe: one writer
/// per worker.
public final class PackWriter {
    public let salt: [UInt8]
    public let blobType: BlobType
    let key: SecretBytes
    let path: String
    private var fd: Int32
    private let hasher = SHA256Hasher()
    public private(set) var size: Int = 0
    public private(set) var entries: [PackEntry] = []

    public init(master: SecretBytes, type: BlobType, directory: String) throws {
        salt = SecureRandom.bytes(32)
        key = PackFormat.subkey(master: master, salt: salt)
        blobType = type
        path = directory + "/.tmp-pack-" + Hex.encode(SecureRandom.bytes(8))
        fd = try Posix.open(path, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        try append(PackFormat.magic + [0, 0, 0, 0] + salt)
    }

    deinit { if fd >= 0 { abandon() } }

    public var isEmpty: Bool { entries.isEmpty }

    private func append(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try append($0) } }

    private func append(_ bytes: UnsafeRawBufferPointer) throws {
        try Posix.writeAll(fd, bytes, path: path)
        hasher.update(bytes)
        size += bytes.count
    }

    /// Adds a blob; `plaintext` is overwritten (encrypted in place).
    @discardableResult
    public func add(id: BlobID, consuming plaintext: UnsafeMutableRawBufferPointer, codec: BlobCodec) throws
        -> PackEntry
    {
        let start = size
        var entry = try key.withUnsafeBytes { k in
            try codec.seal(type: blobType, id: id, plaintext: plaintext, key: k, offset: UInt64(start)) {
                try append($0)
            }
        }
        entry.storedLength = UInt32(size - start)
        entries.append(entry)
        return entry
    }

    /// Adds a blob from bytes the caller keeps (copies them first).
    @discardableResult
    public func add(id: BlobID, plaintext: UnsafeRawBufferPointer, codec: BlobCodec) throws -> PackEntry {
        var copy = Array(plaintext)
        return try copy.withUnsafeMutableBytes { try add(id: id, consuming: $0, codec: codec) }
    }

    /// Seals the header, appends it and its length, and closes. Not yet durable: the fsync is
    /// `Repository.storePack`'s, on the thread that stores packs, so that a compressing worker
    /// does not wait for the disk (10-75 ms per pack on a virtual disk: 2.3 s of a 1 GiB first
    /// backup). The pack's name is the SHA-256 of its bytes.
    public func finish(codec: BlobCodec) throws -> FinishedPack {
        let header = PackFormat.encodeHeader(entries)
        let preamble = PackFormat.magic + [0, 0, 0, 0] + salt
        var sealed: [UInt8] = []
        key.withUnsafeBytes { k in
            preamble.withUnsafeBytes { aad in
                header.withUnsafeBytes { h in
                    codec.gcm.seal(
                        key: k, nonce: AESGCM.nonce(counter: PackFormat.headerNonce), aad: aad, plaintext: h,
                        appendingTo: &sealed)
                }
            }
        }
        withUnsafeBytes(of: UInt32(sealed.count).littleEndian) { sealed.append(contentsOf: $0) }
        try append(sealed)
        Posix.close(fd)
        fd = -1
        return FinishedPack(id: PackID(hasher.finalize()), path: path, size: size, salt: salt, entries: entries)
    }

    /// Drops the spool file (an interrupted or failed backup).
    public func abandon() {
        if fd >= 0 { Posix.close(fd); fd = -1 }
        _ = try? Posix.unlink(path)
    }
}

/// A complete pack in its spool file, ready to hand to the backend.
public struct FinishedPack: Sendable {
    public let id: PackID
    public let path: String
    public let size: Int
    public let salt: [UInt8]
    public let entries: [PackEntry]

    public var indexed: IndexedPack { IndexedPack(id: id, salt: salt, entries: entries) }
}
