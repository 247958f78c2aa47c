import VaultCore

/// The id of a content-addressed repository object: the SHA-256 of its file's bytes (FORMAT.md §2).
/// Each kind is its own type, so a pack id cannot be passed where a snapshot id is meant; hex exists
/// only at the edges (a storage listing, the command line, JSON, printing), as in restic's `restic.ID`.
public protocol ObjectID: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    var digest: SHA256Digest { get }
    init(_ digest: SHA256Digest)
}

extension ObjectID {
    /// Parses an object's name: exactly 64 lowercase hex digits, as chainvault writes them. Any other
    /// spelling (upper case, a prefix) is not an object's name, since storage names are compared as bytes.
    public init?(hex: String) {
        guard hex.utf8.count == 64, let digest = SHA256Digest(hex: hex), digest.hex == hex else { return nil }
        self.init(digest)
    }

    public var hex: String { digest.hex }
    /// The first 8 hex digits, as messages name objects.
    public var shortHex: String { digest.shortHex }
    public var description: String { digest.hex }

    public static func < (a: Self, b: Self) -> Bool { a.digest < b.digest }

    /// JSON holds ids as hex strings (FORMAT.md §8); anything else is a damaged document.
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = Self(hex: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "not a 64-digit hex id: \(text.prefix(70))")
        }
        self = id
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

/// A snapshot's id: `snapshots/<id>`.
public struct SnapshotID: ObjectID {
    public let digest: SHA256Digest
    public init(_ digest: SHA256Digest) { self.digest = digest }
}

/// A pack's id: `data/<2>/<id>`.
public struct PackID: ObjectID {
    public let digest: SHA256Digest
    public init(_ digest: SHA256Digest) { self.digest = digest }
}

/// An index file's id: `index/<id>`.
public struct IndexID: ObjectID {
    public let digest: SHA256Digest
    public init(_ digest: SHA256Digest) { self.digest = digest }
}

/// A key file's id: `keys/<id>`.
public struct KeyID: ObjectID {
    public let digest: SHA256Digest
    public init(_ digest: SHA256Digest) { self.digest = digest }
}
