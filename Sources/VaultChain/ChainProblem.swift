/// One thing wrong with (or worth knowing about) a chain data directory, located precisely enough
/// for an operator to look at it: the file relative to the data directory, the byte offset in it,
/// and where known the height and the block hash (display order: big-endian hex, as explorers
/// and the chain's own clients print it).
public struct ChainProblem: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// Bytes that contradict the chain's own rules or hashes (a flipped bit, a bad merkle root).
        case corrupt
        /// A record cut short at the end of the file being appended to: a crash's signature.
        case truncated
        /// A height missing on the best chain, or a table shorter than its siblings.
        case gap
        /// Something that only went forwards went backwards (a validator's signing state).
        case rollback
        /// The file could not be read.
        case unreadable
        /// Not an error: stale or unconnected blocks, a tolerated flush offset.
        case info
    }

    public var kind: Kind
    public var file: String
    public var offset: UInt64?
    public var height: UInt64?
    public var blockHash: String?
    public var what: String

    public init(
        _ kind: Kind, file: String, offset: UInt64? = nil, height: UInt64? = nil, blockHash: String? = nil,
        _ what: String
    ) {
        self.kind = kind; self.file = file; self.offset = offset; self.height = height
        self.blockHash = blockHash; self.what = what
    }

    /// An operator-facing line: `blocks/blk00000.dat offset 2831 height 12 (hash …): merkle root mismatch`.
    public var line: String {
        var s = file
        if let offset { s += " offset \(offset)" }
        if let height { s += " height \(height)" }
        if let blockHash { s += " (block \(blockHash))" }
        return "\(kind.rawValue): \(s): \(what)"
    }
}
