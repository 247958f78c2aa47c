import VaultCore

/// A directory: its entries sorted by name bytes, encoded canonically, so the same directory always
/// has the same tree id. Tree ids of subdirectories are inside, which makes the root tree id a
/// Merkle root over every byte and every piece of metadata in the snapshot.
///
///     "CVT1" | u32 count | entry…   (FORMAT.md, "Trees")
///     "CVT2" | u32 count | entry…   the same, plus fifos, zero runs and extended attributes
///     "CVT3" | u32 count | entry…   v2, plus each file's content transform (de-obfuscated blocks)
///
/// A tree is written in the lowest version that can hold it, so a directory has one encoding and an upgrade
/// does not change the ids of trees that use nothing new.
public struct Tree: Sendable, Equatable {
    public var nodes: [Node]

    public init(nodes: [Node]) { self.nodes = nodes.sorted { $0.name.lexicographicallyPrecedes($1.name) } }

    static let magic: [UInt8] = Array("CVT1".utf8)
    static let magic2: [UInt8] = Array("CVT2".utf8)
    /// Readers before v3 refuse this magic, so they never restore a file's stored (de-obfuscated)
    /// bytes as if they were its bytes.
    static let magic3: [UInt8] = Array("CVT3".utf8)
    /// A bound against hostile trees; real directories (a Solana accounts dir) stay far below.
    static let maxEntries = 10_000_000
    /// The largest encoded tree a writer stores and a reader opens: 512 MiB holds ~2 million
    /// entries of a typical size (500,000 entries of a big chain directory take ~60-130 MiB), or
    /// 16 million chunk ids of one file (16 TiB at the 1 MiB average), and a pack holding such a
    /// blob stays under the 1 GiB limit of a pack read whole (FORMAT.md §1).
    public static let maxEncodedSize = 512 << 20

    public var version: Int {
        if nodes.contains(where: { $0.transform != nil }) { return 3 }
        return nodes.allSatisfy(\.fitsVersion1) ? 1 : 2
    }

    public func encode() -> [UInt8] {
        let version = version
        let v2 = version >= 2, v3 = version == 3
        var w = ByteWriter(capacity: 8 + nodes.count * 96)
        w.raw(v3 ? Self.magic3 : v2 ? Self.magic2 : Self.magic)
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
                if v2 { Self.encodeZeroRuns(n.zeroRuns, &w) }
                if v3 { Self.encodeTransform(n.transform, &w) }
            case .directory:
                w.digest(n.subtree ?? .zero)
            case .symlink:
                w.shortBytes(n.linkTarget)
            case .fifo:
                break
            }
            if v2 { Self.encodeXattrs(n.xattrs, &w) }
        }
        return w.bytes
    }

    /// Decodes and validates: names must be safe and strictly increasing (sorted, no duplicates).
    public static func decode(_ bytes: [UInt8], what: String) throws -> Tree {
        var r = ByteReader(bytes, what: what)
        let m = try r.raw(4)
        guard m == magic || m == magic2 || m == magic3 else { throw VaultError(.corrupt, "\(what) has a bad magic") }
        let v3 = m == magic3, v2 = m == magic2 || v3
        let count = Int(try r.u32())
        guard count <= maxEntries, count <= r.remaining / 60 else {
            throw VaultError(.corrupt, "\(what) claims \(count) entries")
        }
        var nodes: [Node] = []
        nodes.reserveCapacity(count)
        for _ in 0..<count {
            let name = try r.shortBytes()
            guard Node.isSafeName(name) else {
                throw VaultError(
                    .unsafeInput,
                    "\(what) has an entry with an unsafe name \(String(reflecting: String(decoding: name, as: UTF8.self)))",
                    hint: "the snapshot was crafted or damaged; nothing was written for it")
            }
            if let previous = nodes.last, !previous.name.lexicographicallyPrecedes(name) {
                throw VaultError(.corrupt, "\(what) entries are not in canonical order or repeat a name")
            }
            let k = try r.u8()
            guard let kind = Node.Kind(rawValue: k), v2 || kind != .fifo else {
                throw VaultError(
                    .unsafeInput,
                    "\(what) has an entry of unsupported type \(k) (device nodes and sockets are never restored)")
            }
            var n = Node(
                name: name, kind: kind, mode: try r.u32(), uid: try r.u32(), gid: try r.u32(),
                mtimeNanos: try r.i64(), ctimeNanos: try r.i64(), inode: try r.u64(), device: try r.u64(),
                links: try r.u32(), size: try r.u64())
            guard n.mode & ~0o7777 == 0 else {
                throw VaultError(.corrupt, "\(what) entry \(n.nameString) has mode bits outside 07777")
            }
            switch kind {
            case .file:
                let c = Int(try r.u32())
                guard c <= r.remaining / 32 else {
                    throw VaultError(.corrupt, "\(what) entry \(n.nameString) claims \(c) chunks")
                }
                n.chunks.reserveCapacity(c)
                for _ in 0..<c { n.chunks.append(try r.digest()) }
                if v2 { n.zeroRuns = try decodeZeroRuns(&r, size: n.size, what: "\(what) entry \(n.nameString)") }
                if v3 { n.transform = try decodeTransform(&r, n, what: "\(what) entry \(n.nameString)") }
            case .directory:
                n.subtree = try r.digest()
            case .symlink:
                n.linkTarget = try r.shortBytes()
                guard !n.linkTarget.isEmpty, !n.linkTarget.contains(0) else {
                    throw VaultError(.unsafeInput, "\(what) symlink \(n.nameString) has an empty or NUL-bearing target")
                }
            case .fifo:
                guard n.size == 0 else {
                    throw VaultError(.corrupt, "\(what) fifo \(n.nameString) claims \(n.size) bytes")
                }
            }
            if v2 { n.xattrs = try decodeXattrs(&r, what: "\(what) entry \(n.nameString)") }
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
