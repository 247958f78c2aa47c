import VaultCore

/// A blob's id: SHA-256 of its plaintext (for data blobs, the chunk's bytes: the block hash).
public typealias BlobID = SHA256Digest

public enum BlobType: UInt8, Sendable, Codable {
    case data = 0
    case tree = 1

    public var name: String { self == .data ? "data" : "tree" }
}

public enum Compression: UInt8, Sendable {
    case none = 0
    case zstd = 1
}
