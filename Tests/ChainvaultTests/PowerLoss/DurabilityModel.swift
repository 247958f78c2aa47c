import Foundation
import Glibc
import VaultCore

/// A file-system model that knows what a power cut may take away. It replays the file effects of
/// a trace and can, at any point, write out a tree that a machine could boot into after losing
/// power there:
///
/// - `.strict`: only what was made durable survives (POSIX's promise and nothing more): a file's
///   bytes as of its last fsync, a directory's entries as of its last fsync (a rename or create
///   not followed by an fsync of the directory is lost), everything after a syncfs.
/// - `.random`: the strict state plus an arbitrary part of what was not yet synced: the unsynced
///   entry changes of every directory up to one point in the order they were made (a rename is
///   one change of both its directories: never half there), and for each file a random subset
///   of its unsynced writes. This is what a metadata journal committed up to an arbitrary moment,
///   with data blocks written back in any order, leaves behind.
///
/// File contents come from copies of the real tree taken after each traced step (objects are
/// written once under their final name, so the copy holds the bytes the writes put there), or
/// from the write's own bytes when the trace holds them (lock files, gone by the end).
final class DurabilityModel {
    enum Mode: String { case strict, random }

    final class Node {
        enum Kind { case file, directory, symlink(String) }
        let id: Int
        let kind: Kind
        var entries: [String: Node] = [:]
        var durableEntries: [String: Node] = [:]
        /// `op`: the model's count of entry changes when this one was made (both halves of a
        /// rename share one).
        var unsynced: [(name: String, node: Node?, op: Int)] = []
        var size = 0, durableSize = 0
        var extents: [(offset: Int, length: Int, bytes: [UInt8]?)] = []
        var durableExtents = 0
        /// Where the final bytes of this file can be read (a copy of the real tree).
        var source: String?

        init(id: Int, kind: Kind) { self.id = id; self.kind = kind }
        var isDirectory: Bool { if case .directory = kind { return true }; return false }

        func set(_ name: String, _ node: Node?, op: Int) {
            entries[name] = node
            unsynced.append((name, node, op))
        }

        func sync() {
            durableEntries = entries
            unsynced = []
            durableSize = size
            durableExtents = extents.count
        }
    }

    let rootPath: String
    private(set) var root: Node
    private var all: [Node] = []
    /// Entry changes made so far: the order the random mode cuts.
    private var ops = 0

    /// `copy` is a copy of `root` taken before the trace: what it holds counts as durable.
    init(root: String, initialCopy copy: String) throws {
        rootPath = root
        self.root = Node(id: 0, kind: .directory)
        all = [self.root]
        try scan(self.root, copy: copy)
        for n in all { n.sync() }
    }

    private func newNode(_ kind: Node.Kind) -> Node {
        let n = Node(id: all.count, kind: kind)
        all.append(n)
        return n
    }

    /// Files of the initial copy with more than one name, by (device, inode): one node each.
    private var linkedInCopy: [String: Node] = [:]

    private func scan(_ dir: Node, copy: String) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: copy).sorted() {
            var st = stat()
            lstat(copy + "/" + name, &st)
            let node: Node
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                node = newNode(.directory)
                try scan(node, copy: copy + "/" + name)
            case S_IFLNK:
                node = newNode(.symlink(try FileManager.default.destinationOfSymbolicLink(atPath: copy + "/" + name)))
            default:
                let key = "\(st.st_dev):\(st.st_ino)"
                if st.st_nlink > 1, let first = linkedInCopy[key] {
                    dir.entries[name] = first
                    continue
                }
                node = newNode(.file)
                if st.st_nlink > 1 { linkedInCopy[key] = node }
                node.size = Int(st.st_size)
                node.extents = [(0, node.size, nil)]
                node.source = copy + "/" + name
            }
            dir.entries[name] = node
        }
    }

    private func split(_ path: String) -> (Node, String)? {
        guard path.hasPrefix(rootPath + "/") else { return nil }
        let parts = path.dropFirst(rootPath.count + 1).split(separator: "/").map(String.init)
        var dir = root
        for part in parts.dropLast() {
            guard let next = dir.entries[part], next.isDirectory else { return nil }
            dir = next
        }
        return parts.last.map { (dir, $0) }
    }

    private func lookup(_ path: String) -> Node? {
        if path == rootPath { return root }
        guard let (dir, name) = split(path) else { return nil }
        return dir.entries[name]
    }

    /// Applies one effect to the current (not yet durable) state.
    func apply(_ effect: FileEffect) {
        ops += 1
        switch effect {
        case .create(let path, let truncate):
            if let existing = lookup(path) {
                if truncate { existing.size = 0; existing.extents = [] }
            } else if let (dir, name) = split(path) {
                dir.set(name, newNode(.file), op: ops)
            }
        case .makeDirectory(let path):
            if let (dir, name) = split(path) { dir.set(name, newNode(.directory), op: ops) }
        case .write(let path, let offset, let length, let bytes):
            guard let n = lookup(path) else { return }
            let at = offset ?? n.size
            n.extents.append((at, length, bytes))
            n.size = max(n.size, at + length)
        case .truncate(let path, let length):
            guard let n = lookup(path) else { return }
            n.size = length
        case .sync(let path):
            lookup(path)?.sync()
        case .syncAll:
            for n in all { n.sync() }
        case .rename(let from, let to, let exchange):
            guard let (a, an) = split(from), let (b, bn) = split(to), let moving = a.entries[an] else { return }
            let other = b.entries[bn]
            a.set(an, exchange ? other : nil, op: ops)
            b.set(bn, moving, op: ops)
        case .remove(let path):
            if let (dir, name) = split(path) { dir.set(name, nil, op: ops) }
        case .link(let from, let to):
            if let n = lookup(from), let (dir, name) = split(to) { dir.set(name, n, op: ops) }
        case .symlink(let target, let path):
            if let (dir, name) = split(path) { dir.set(name, newNode(.symlink(target)), op: ops) }
        }
    }

    /// Records, for every file reachable now, where its bytes are in `copy` (a copy of the real
    /// tree taken at this moment).
    func takeSources(from copy: String) {
        func walk(_ dir: Node, _ path: String) {
            for (name, node) in dir.entries {
                switch node.kind {
                case .directory: walk(node, path + "/" + name)
                case .file: node.source = path + "/" + name
                case .symlink: break
                }
            }
        }
        walk(root, copy)
    }

    /// Node ids are given in creation order, so a second replay of the same effects builds the
    /// same nodes: sources found in a first pass carry over by id.
    var sources: [Int: String] {
        var out: [Int: String] = [:]
        for n in all { if let s = n.source { out[n.id] = s } }
        return out
    }

    /// Writes the tree as it would be found after a power cut now, at `path` (which must not exist).
    func materialize(at path: String, mode: Mode, rng: inout SplitMix64, sources: [Int: String]) throws {
        var written: [Int: String] = [:]
        // Random: every unsynced entry change made before one point survives, none after it.
        let pending = Set(all.flatMap { $0.unsynced.map(\.op) }).sorted()
        let cut = (pending + [ops + 1])[Int(rng.next() % UInt64(pending.count + 1))]
        try write(root, at: path, mode: mode, cut: cut, rng: &rng, sources: sources, written: &written)
    }

    /// `written`: where each file node was written first. A file reachable under several names
    /// (a hardlink) is one inode on disk, as it was before the cut, not copies of it.
    private func write(
        _ node: Node, at path: String, mode: Mode, cut: Int, rng: inout SplitMix64,
        sources: [Int: String], written: inout [Int: String]
    ) throws {
        if case .file = node.kind, let first = written[node.id] {
            guard link(first, path) == 0 else { throw Posix.error("link", path) }
            return
        }
        switch node.kind {
        case .directory:
            guard mkdir(path, 0o700) == 0 else { throw Posix.error("mkdir", path) }
            var entries = node.durableEntries
            if mode == .random {
                for change in node.unsynced where change.op < cut { entries[change.name] = change.node }
            }
            for (name, child) in entries.sorted(by: { $0.key < $1.key }) {
                try write(
                    child, at: path + "/" + name, mode: mode, cut: cut, rng: &rng, sources: sources,
                    written: &written)
            }
        case .symlink(let target):
            guard symlink(target, path) == 0 else { throw Posix.error("symlink", path) }
        case .file:
            var extents = Array(node.extents.prefix(node.durableExtents))
            var size = node.durableSize
            if mode == .random {
                for e in node.extents.dropFirst(node.durableExtents) where rng.next() % 2 == 0 {
                    extents.append(e)
                    size = max(size, e.offset + e.length)
                }
                if rng.next() % 2 == 0 { size = max(size, node.size) }
            }
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard fd >= 0 else { throw Posix.error("create", path) }
            written[node.id] = path
            defer { close(fd) }
            let source = sources[node.id] ?? node.source
            let sourceFD = source.map { open($0, O_RDONLY) } ?? -1
            defer { if sourceFD >= 0 { close(sourceFD) } }
            for e in extents {
                var bytes = e.bytes ?? [UInt8](repeating: 0, count: e.length)
                if e.bytes == nil, sourceFD >= 0 {
                    _ = bytes.withUnsafeMutableBytes { pread(sourceFD, $0.baseAddress, e.length, off_t(e.offset)) }
                }
                _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, e.length, off_t(e.offset)) }
            }
            guard ftruncate(fd, off_t(size)) == 0 else { throw Posix.error("truncate", path) }
        }
    }
}
