import Glibc
import VaultCore
import VaultRepository

/// Reads a restored tree back and compares it with its snapshot: every entry's kind, mode, mtime
/// (files, symlinks' targets), every file's size and each chunk's bytes against the chunk's
/// SHA-256 (its id), zero runs as zeros. Iterative (`TreeWalker`) with a `DirectoryCursor` (bounded descriptors,
/// no path strings), names as bytes; nothing but regular files is opened.
struct RestoredTreeComparison {
    let repository: Repository
    let root: String
    let cancellation: Cancellation

    struct Outcome {
        var files: UInt64 = 0
        var directories: UInt64 = 0
        var bytes: UInt64 = 0
        /// The distinct chunks read back and hashed.
        var chunks = Set<BlobID>()
        /// At most 100, each naming the entry.
        var problems: [String] = []
    }

    func compare(_ record: SnapshotRecord) throws -> Outcome {
        let rootID = record.snapshot.tree
        let codec = repository.makeCodec()
        let cursor = try DirectoryCursor(
            rootFD: try Posix.open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW), display: root)
        var out = Outcome(directories: 1)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        try TreeWalker(repository: repository, codec: codec).walk(
            root: rootID,
            { _, node in
                try cancellation.check()
                let dirFD = try cursor.current()
                let shown = cursor.display(node.name)
                func problem(_ what: String) {
                    if out.problems.count < 100 { out.problems.append("\(shown): \(what)") }
                }
                guard let st = Posix.lstatAt(dirFD, node.name) else { problem("missing"); return .skipSubtree }
                let kinds: [Node.Kind: mode_t] = [
                    .file: S_IFREG, .directory: S_IFDIR, .symlink: S_IFLNK, .fifo: S_IFIFO
                ]
                guard st.st_mode & S_IFMT == kinds[node.kind] else {
                    problem("not a \(node.kind)"); return .skipSubtree
                }
                if node.kind != .symlink, UInt32(st.st_mode & 0o7777) != node.mode & 0o7777 {
                    problem(
                        "mode \(String(st.st_mode & 0o7777, radix: 8)), the snapshot has \(String(node.mode & 0o7777, radix: 8))"
                    )
                }
                switch node.kind {
                case .directory:
                    guard node.subtree != nil else { problem("no tree in the snapshot"); return .skipSubtree }
                    out.directories += 1
                    try cursor.enter(node.name)
                    return .descend
                case .symlink:
                    var target = [UInt8](repeating: 0, count: 4097)
                    let n = FileName.withCString(node.name) { readlinkat(dirFD, $0, &target, target.count) }
                    if n < 0 || Array(target[0..<n]) != node.linkTarget { problem("link target differs") }
                case .file:
                    out.files += 1
                    out.bytes &+= node.size
                    let mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
                    if mtime != node.mtimeNanos { problem("mtime differs") }
                    if UInt64(st.st_size) != node.size {
                        problem("\(st.st_size) bytes, the snapshot has \(node.size)"); break
                    }
                    if let wrong = try content(node, in: dirFD, buffer: &buffer) { problem(wrong) }
                    out.chunks.formUnion(node.chunks)
                case .fifo:
                    break
                }
                return .skipSubtree
            }, leave: { _, _ in cursor.leave() })
        return out
    }

    /// nil when every chunk's bytes hash to its id and every zero run reads as zeros.
    private func content(_ node: Node, in dirFD: Int32, buffer: inout [UInt8]) throws -> String? {
        let fd = Posix.tryOpenAt(dirFD, node.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
        if fd < 0 { return "cannot be opened" }
        defer { Posix.close(fd) }
        var lengths: [UInt64] = []
        for id in node.chunks {
            guard let l = repository.index.lookup(id) else { return "chunk \(id.shortHex) is not in the index" }
            lengths.append(UInt64(l.entry.rawLength))
        }
        guard let offsets = node.chunkOffsets(rawLengths: lengths) else { return "its chunks do not tile its size" }
        for (i, id) in node.chunks.enumerated() {
            let hasher = SHA256Hasher()
            var at = Int(offsets[i]), left = Int(lengths[i])
            while left > 0 {
                let want = min(left, buffer.count)
                let n = try buffer.withUnsafeMutableBytes {
                    try Posix.pread(fd, UnsafeMutableRawBufferPointer(rebasing: $0[0..<want]), offset: at, path: root)
                }
                if n == 0 { return "ends inside chunk \(i)" }
                node.transformChunk(&buffer, count: n, at: UInt64(at))  // ids are of the stored bytes
                buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                at += n; left -= n
            }
            if hasher.finalize() != id { return "chunk \(i) at offset \(offsets[i]) differs" }
        }
        for run in node.zeroRuns {
            var at = Int(run.offset), left = Int(run.length)
            while left > 0 {
                let want = min(left, buffer.count)
                let n = try buffer.withUnsafeMutableBytes {
                    try Posix.pread(fd, UnsafeMutableRawBufferPointer(rebasing: $0[0..<want]), offset: at, path: root)
                }
                if n == 0 { return "ends inside the zero run at \(run.offset)" }
                let zero = buffer.withUnsafeBytes { b in b[0..<n].allSatisfy { $0 == 0 } }
                if !zero { return "the zero run at \(run.offset) is not zeros" }
                at += n; left -= n
            }
        }
        return nil
    }
}
