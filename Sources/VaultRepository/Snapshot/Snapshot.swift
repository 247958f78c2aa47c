import Foundation
import VaultCore

/// What a backup produced: the root tree id (the Merkle root), and where, when and how.
/// Stored as JSON sealed with `SealedFile` (kind 3) in `snapshots/<sha256 of the file>`.
public struct Snapshot: Codable, Sendable {
    public struct Stats: Codable, Sendable {
        public var files: UInt64 = 0
        public var directories: UInt64 = 0
        public var symlinks: UInt64 = 0
        public var filesUnchanged: UInt64 = 0
        public var bytesTotal: UInt64 = 0
        public var bytesRead: UInt64 = 0
        public var bytesNew: UInt64 = 0
        public var bytesStored: UInt64 = 0
        public var chunksNew: UInt64 = 0
        public var durationSeconds: Double = 0
        public var skipped: [String] = []
        public init() {}
    }

    public var version: Int = 1
    /// When the backup started; RFC 3339 text in the JSON (`RFC3339Time`).
    @RFC3339Time public var time: Date
    /// The root tree (the Merkle root); hex in the JSON.
    public var tree: BlobID
    public var source: String
    public var hostname: String
    public var username: String
    public var tags: [String]
    public var parent: SnapshotID?
    public var policy: String?
    public var excludes: [String]
    public var stats: Stats
    /// Free-form facts about the chain at backup time (client, height), supplied by policies.
    public var chain: [String: String]
    /// The source directory's own metadata (a chain data dir's 0700 mode matters).
    public var root: RootMetadata?
    /// For a snapshot made by `copy`: the id of the snapshot it copies in the source repository
    /// (or that snapshot's own `original`), so a copy is never made twice.
    public var original: SnapshotID?
    /// The newest snapshot in the repository when this backup started (FORMAT.md §8): this one is
    /// newer than it whatever the two hosts' clocks say. Absent in older snapshots.
    public var newestSeen: SnapshotID?
    /// True when some file could not be read completely (EIO mid-file, shrank, vanished); their
    /// paths are in `incomplete` (at most 1,000, like `stats.skipped`). Absent means complete.
    public var partial: Bool?
    public var incomplete: [String]?
    /// The chain check of the data this snapshot stored; absent in older snapshots and with `--chain none`.
    public var chainCheck: ChainCheck?

    public struct RootMetadata: Codable, Sendable {
        public var mode: UInt32
        public var uid: UInt32
        public var gid: UInt32
        public var mtimeNanos: Int64
        /// The source directory's own extended attributes (POSIX ACLs included), name and value
        /// as base64 of their bytes; absent in snapshots of older versions and when it has none.
        public var xattrs: [Attribute]?
        public init(mode: UInt32, uid: UInt32, gid: UInt32, mtimeNanos: Int64) {
            self.mode = mode; self.uid = uid; self.gid = gid; self.mtimeNanos = mtimeNanos
        }

        public struct Attribute: Codable, Sendable {
            public var name: Data
            public var value: Data
        }

        public init(_ node: Node) {
            self.init(mode: node.mode, uid: node.uid, gid: node.gid, mtimeNanos: node.mtimeNanos)
            if !node.xattrs.isEmpty {
                xattrs = node.xattrs.map { Attribute(name: Data($0.name), value: Data($0.value)) }
            }
        }

        /// The attributes to restore, within the limits a tree entry has (FORMAT.md §7); nil when
        /// they exceed them (the snapshot is damaged or crafted).
        public func extendedAttributes() -> [ExtendedAttribute]? {
            let list = (xattrs ?? []).map { ExtendedAttribute(name: Array($0.name), value: Array($0.value)) }
            let namesSize = list.reduce(0) { $0 + $1.name.count + 1 }
            guard namesSize <= ExtendedAttribute.maxList,
                list.allSatisfy({
                    !$0.name.isEmpty && $0.name.count <= ExtendedAttribute.maxName && !$0.name.contains(0)
                        && $0.value.count <= ExtendedAttribute.maxValue
                })
            else { return nil }
            return list
        }
    }

    public init(
        time: Date, tree: BlobID, source: String, hostname: String, username: String, tags: [String],
        parent: SnapshotID?, policy: String?, excludes: [String], stats: Stats, chain: [String: String] = [:]
    ) {
        self.time = time; self.tree = tree; self.source = source; self.hostname = hostname; self.username = username
        self.tags = tags; self.parent = parent; self.policy = policy; self.excludes = excludes; self.stats = stats;
        self.chain = chain
    }

    /// A partial snapshot is never `latest` by default and never counts as a kept backup.
    public var isPartial: Bool { partial == true }
}

/// A snapshot with the id it is stored under.
public struct SnapshotRecord: Sendable {
    public let id: SnapshotID
    public let snapshot: Snapshot
    public var shortID: String { id.shortHex }

    public init(id: SnapshotID, snapshot: Snapshot) { self.id = id; self.snapshot = snapshot }
}
