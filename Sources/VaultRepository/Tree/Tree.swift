import VaultCore

/// One directory entry. Times are nanoseconds since the epoch; ctime, inode, device and link
/// count are recorded for change detection and hardlinks, never restored.
public struct Node: Sendable, Equatable {
    public enum Kind: UInt8, Sendable {
        case file = 1
        case directory = 2
        case symlink = 3
    }

    public var name: [UInt8]
    public var kind: Kind
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var mtimeNanos: Int64
    public var ctimeNanos: Int64
    public var inode: UInt64
    public var device: UInt64
    public var links: UInt32
    public var size: UInt64
    /// Files: the chunk ids in order. Empty for other kinds.
    public var chunks: [BlobID]
    /// Directories: the subtree id.
    public var subtree: BlobID?
    /// Symlinks: the target, as stored by readlink.
    public var linkTarget: [UInt8]

    public init(name: [UInt8], kind: Kind, mode: UInt32 = 0o644, uid: UInt32 = 0, gid: UInt32 = 0, mtimeNanos: Int64 = 0,
                ctimeNanos: Int64 = 0, inode: UInt64 = 0, device: UInt64 = 0, links: UInt32 = 1, size: UInt64 = 0,
                chunks: [BlobID] = [], subtree: BlobID? = nil, linkTarget: [UInt8] = []) {
        self.name = name; self.kind = kind; self.mode = mode; self.uid = uid; self.gid = gid
        self.mtimeNanos = mtimeNanos; self.ctimeNanos = ctimeNanos; self.inode = inode; self.device = device
        self.links = links; self.size = size; self.chunks = chunks; self.subtree = subtree; self.linkTarget = linkTarget
    }

    public var nameString: String { String(decoding: name, as: UTF8.self) }

    /// A name a restore may create inside a directory: not empty, not `.` or `..`, no `/` or NUL,
    /// at most 255 bytes (NAME_MAX).
    public static func isSafeName(_ name: [UInt8]) -> Bool {
        !name.isEmpty && name.count <= 255 && name != [46] && name != [46, 46] && !name.contains(47) && !name.contains(0)
    }
}

/// A directory: its entries sorted by name bytes, encoded canonically, so the same directory always
/// has the same tree id. Tree ids of subdirectories are inside, which makes the root tree id a
/// Merkle root over every byte and every piece of metadata in the snapshot.
///
///     "CVT1" | u32 count | entry…   (FORMAT.md, "Trees")
public struct Tree: Sendable, Equatable {
    public var nodes: [Node]

    public init(nodes: [Node]) { self.nodes = nodes.sorted { $0.name.lexicographicallyPrecedes($1.name) } }

    static let magic: [UInt8] = Array("CVT1".utf8)
    /// A bound against hostile trees; real directories (a Solana accounts dir) stay far below.
    static let maxEntries = 10_000_000

    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 8 + nodes.count * 96)
        w.raw(Self.magic)
        w.u32(UInt32(nodes.count))
        for n in nodes {
            w.shortBytes(n.name)
            w.u8(n.kind.rawValue)
            w.u32(n.mode); w.u32(n.uid); w.u32(n.gid)
            w.i64(n.mtimeNanos); w.i64(n.ctimeNanos)
            w.u64(n.inode); w.u64(n.device); w.u32(n.links)
            w.u64(n.size)
            switch n.kind {
            case .file:
                w.u32(UInt32(n.chunks.count))
                for c in n.chunks { w.digest(c) }
            case .directory:
                w.digest(n.subtree ?? .zero)
            case .symlink:
                w.shortBytes(n.linkTarget)
            }
        }
        return w.bytes
    }

    /// Decodes and validates: names must be safe and strictly increasing (sorted, no duplicates).
    public static func decode(_ bytes: [UInt8], what: String) throws -> Tree {
        var r = ByteReader(bytes, what: what)
        guard try r.raw(4) == magic else { throw VaultError(.corrupt, "\(what) has a bad magic") }
        let count = Int(try r.u32())
        guard count <= maxEntries, count <= r.remaining / 60 else { throw VaultError(.corrupt, "\(what) claims \(count) entries") }
        var nodes: [Node] = []
        nodes.reserveCapacity(count)
        for _ in 0..<count {
            let name = try r.shortBytes()
            guard Node.isSafeName(name) else {
                throw VaultError(.unsafeInput, "\(what) has an entry with an unsafe name \(String(reflecting: String(decoding: name, as: UTF8.self)))",
                                 hint: "the snapshot was crafted or damaged; nothing was written for it")
            }
            if let previous = nodes.last, !previous.name.lexicographicallyPrecedes(name) {
                throw VaultError(.corrupt, "\(what) entries are not in canonical order or repeat a name")
            }
            let k = try r.u8()
            guard let kind = Node.Kind(rawValue: k) else {
                throw VaultError(.unsafeInput, "\(what) has an entry of unsupported type \(k) (device nodes and sockets are never restored)")
            }
            var n = Node(name: name, kind: kind, mode: try r.u32(), uid: try r.u32(), gid: try r.u32(),
                         mtimeNanos: try r.i64(), ctimeNanos: try r.i64(), inode: try r.u64(), device: try r.u64(),
                         links: try r.u32(), size: try r.u64())
            guard n.mode & ~0o7777 == 0 else { throw VaultError(.corrupt, "\(what) entry \(n.nameString) has mode bits outside 07777") }
            switch kind {
            case .file:
                let c = Int(try r.u32())
                guard c <= r.remaining / 32 else { throw VaultError(.corrupt, "\(what) entry \(n.nameString) claims \(c) chunks") }
                n.chunks.reserveCapacity(c)
                for _ in 0..<c { n.chunks.append(try r.digest()) }
            case .directory:
                n.subtree = try r.digest()
            case .symlink:
                n.linkTarget = try r.shortBytes()
                guard !n.linkTarget.isEmpty, !n.linkTarget.contains(0) else {
                    throw VaultError(.unsafeInput, "\(what) symlink \(n.nameString) has an empty or NUL-bearing target")
                }
            }
            nodes.append(n)
        }
        try r.expectEnd()
        var tree = Tree(nodes: [])
        tree.nodes = nodes
        return tree
    }

    public func node(named name: [UInt8]) -> Node? {
        // Binary search: nodes are sorted by name bytes.
        var lo = 0, hi = nodes.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if nodes[mid].name.lexicographicallyPrecedes(name) { lo = mid + 1 } else { hi = mid }
        }
        return lo < nodes.count && nodes[lo].name == name ? nodes[lo] : nil
    }
}
