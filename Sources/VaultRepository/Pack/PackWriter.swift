import VaultCore

/// A pack file being assembled in memory. Blobs are sealed straight into its buffer.
public final class PackWriter {
    public let salt: [UInt8]
    let key: SecretBytes
    public private(set) var bytes: [UInt8]
    public private(set) var entries: [PackEntry] = []
    public let blobType: BlobType

    public init(master: SecretBytes, type: BlobType, capacity: Int) {
        salt = SecureRandom.bytes(32)
        key = PackFormat.subkey(master: master, salt: salt)
        blobType = type
        bytes = []
        bytes.reserveCapacity(capacity + (4 << 20) + 4096)
        bytes += PackFormat.magic
        bytes += [0, 0, 0, 0]
        bytes += salt
    }

    public var size: Int { bytes.count }
    public var isEmpty: Bool { entries.isEmpty }

    public func add(id: BlobID, plaintext: UnsafeRawBufferPointer, codec: BlobCodec) -> PackEntry {
        let entry = key.withUnsafeBytes { k in codec.seal(type: blobType, id: id, plaintext: plaintext, key: k, into: &bytes) }
        entries.append(entry)
        return entry
    }

    /// Seals the header, appends it and its length; the pack's name is the SHA-256 of the result.
    public func finish(codec: BlobCodec) -> FinishedPack {
        let header = PackFormat.encodeHeader(entries)
        let preamble = Array(bytes[0..<PackFormat.preambleSize])
        let before = bytes.count
        key.withUnsafeBytes { k in
            preamble.withUnsafeBytes { aad in
                header.withUnsafeBytes { h in
                    codec.gcm.seal(key: k, nonce: AESGCM.nonce(counter: PackFormat.headerNonce), aad: aad, plaintext: h, appendingTo: &bytes)
                }
            }
        }
        withUnsafeBytes(of: UInt32(bytes.count - before).littleEndian) { bytes.append(contentsOf: $0) }
        return FinishedPack(id: SHA256.hash(bytes), bytes: bytes, salt: salt, entries: entries)
    }
}

public struct FinishedPack: Sendable {
    public let id: SHA256Digest
    public let bytes: [UInt8]
    public let salt: [UInt8]
    public let entries: [PackEntry]
}
