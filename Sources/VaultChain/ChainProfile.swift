/// A chain client family's knowledge of its data directory: how to recognise it and how to
/// check that it holds a valid chain. `state` carries what earlier runs verified (per file: the
/// offset and tip), so a daily run reads only what was appended; a profile reports a change
/// before a verified offset as corruption.
public protocol ChainProfile: Sendable {
    /// The name policies and `--chain` use: "bitcoind", "geth", "cometbft".
    var name: String { get }
    /// True when the data directory looks like this client's.
    func detect(_ source: ChainDataSource) -> Bool
    func verify(_ source: ChainDataSource, state: inout ChainVerifyState) throws -> ChainReport
}

/// Per-file progress of earlier checks, persisted by the caller (JSON) between runs.
public struct ChainVerifyState: Codable, Sendable, Equatable {
    public struct FileMark: Codable, Sendable, Equatable {
        /// Bytes from the start of the file already verified.
        public var verifiedThrough: UInt64
        /// SHA-256 (hex) of the last verified record or window, to notice a rewrite before the mark.
        public var checkpoint: String
        /// Offsets of verified record starts, about one per `recordStartSpacing` bytes, below
        /// `verifiedThrough`: where a check can restart mid-file when only later bytes changed.
        public var recordStarts: [UInt64]?
        public init(verifiedThrough: UInt64, checkpoint: String, recordStarts: [UInt64]? = nil) {
            self.verifiedThrough = verifiedThrough; self.checkpoint = checkpoint; self.recordStarts = recordStarts
        }
    }

    public var profile: String
    public var files: [String: FileMark] = [:]
    /// Profile-specific carry-over (e.g. the best chain's tip and height), opaque to callers.
    public var extra: [String: String] = [:]
    /// The root tree of the snapshot whose bytes this state verified (backups only): the next
    /// backup trusts it only when that snapshot is its parent, whose chunk ids then prove which
    /// bytes are unchanged.
    public var tree: String?

    /// A record start is kept about every MiB: a restart re-parses at most that much before a change.
    public static let recordStartSpacing: UInt64 = 1 << 20

    public init(profile: String) { self.profile = profile }
}

/// The profiles chainvault knows, in detection order.
public enum ChainProfiles {
    // nonisolated(unsafe): written only by `register`, at start-up before any other thread runs.
    nonisolated(unsafe) public private(set) static var all: [ChainProfile] = []

    /// Registration happens once at start-up (see `registerBuiltins`), before any thread reads `all`.
    public static func register(_ profile: ChainProfile) { all.append(profile) }

    public static func named(_ name: String) -> ChainProfile? { all.first { $0.name == name } }

    public static func detect(_ source: ChainDataSource) -> ChainProfile? { all.first { $0.detect(source) } }
}
