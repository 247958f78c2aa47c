import Foundation
import Glibc
import VaultCore
import VaultRepository

public struct BackupOptions: Sendable {
    public var source: String
    public var excludes: [String] = []
    /// When not empty, only matching entries are saved, with everything under a matching directory
    /// (same glob rules as excludes); directories are walked to find them. Excludes still apply.
    public var includes: [String] = []
    public var tags: [String] = []
    public var hostname: String = ProcessInfo.processInfo.hostName
    /// A snapshot reference to compare against; nil picks the latest of the same source and host.
    public var parent: String?
    public var policy: String?
    public var workers: Int = Parallel.cores
    /// Write an index file every this many packs (~512 MiB): the most a killed backup re-uploads
    /// if its packs could not be recovered.
    public var indexEvery: Int = 32

    public init(source: String) { self.source = source }
}

public struct BackupResult: Sendable {
    public let snapshotID: String
    public let snapshot: Snapshot
    public let parentID: String?
    public let recoveredPacks: Int
    /// Sockets in the source, relative paths: skipped by design (a program recreates its socket when
    /// it starts), so they are not warnings.
    public let skippedSockets: [String]
    public var warnings: [String] { snapshot.stats.skipped }
}

/// Backup: walks the source, saves files and trees, writes the snapshot last.
public final class Archiver {
    let repository: Repository
    let options: BackupOptions
    let progress: JobProgress?
    let cancellation: Cancellation
    let filter: PathPatterns
    let include: PathPatterns
    private var stats = Snapshot.Stats()
    private let treeCodec: BlobCodec
    private var treeWriter: PackWriter?
    private var saver: ChunkSaver!
    private var reader: FileReader!
    private var changedReader: FileReader!
    private var dedup: DedupSet!
    private var collector: IndexCollector!

    public init(repository: Repository, options: BackupOptions, progress: JobProgress? = nil, cancellation: Cancellation = Cancellation()) {
        self.repository = repository; self.options = options; self.progress = progress; self.cancellation = cancellation
        filter = PathPatterns(options.excludes)
        include = PathPatterns(options.includes)
        treeCodec = repository.makeCodec()
    }

    public func run() throws -> BackupResult {
        let started = Date()
        let source = Path.absolute(options.source)
        // The source itself may be a symlink (/var/lib/bitcoind -> /data/bitcoind): open follows it.
        let rootFD = Glibc.open(source, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else {
            throw VaultError(.sourceUnreadable, "backup source \(source) does not exist or is not a readable directory",
                             cause: String(cString: strerror(errno)), hint: "check the path; a chain data directory is backed up as a whole")
        }
        defer { Posix.close(rootFD) }
        var st = stat()
        fstat(rootFD, &st)

        try repository.loadIndex()
        let recovered = try repository.recoverUnindexedPacks()
        let parent = try findParent(source: source)
        let parentTree = try parent.flatMap { p in try p.snapshot.treeID.map { try repository.loadTree($0, codec: treeCodec) } }
        // The previous snapshot's size is the best estimate of this one's, for the ETA.
        if let total = parent?.snapshot.stats.bytesTotal { progress?.setTotal(total) }

        dedup = DedupSet(index: repository.index)
        collector = IndexCollector(repository: repository, every: options.indexEvery)
        saver = ChunkSaver(repository: repository, dedup: dedup, collector: collector, workers: options.workers)
        // Two readers: one for files new since the parent snapshot, one for changed files it knew.
        // A first backup is bound by compression (all data is new), so one reader keeps up and
        // the other never allocates its buffer; an incremental backup is bound by reading and
        // chunking changed files (FastCDC is sequential within a file), and both readers share it.
        reader = FileReader(threads: 1, saver: saver, parameters: repository.config.chunker, progress: progress, cancellation: cancellation)
        changedReader = FileReader(threads: 1, saver: saver, parameters: repository.config.chunker, progress: progress, cancellation: cancellation)

        var rootID: BlobID?
        var failure: Error?
        do {
            rootID = try saveDirectory(fd: rootFD, relativePath: "", parentTree: parentTree, included: options.includes.isEmpty)
        } catch {
            failure = error
        }
        // Always drain the readers, then the workers, so every pack that is complete gets stored
        // and indexed: a failed or interrupted backup still leaves reusable data behind. Readers
        // first: they may wait on the workers' byte budget, never the other way round.
        for r in [reader!, changedReader!] {
            r.finish()
            stats.bytesRead += r.bytesRead
            for w in r.warnings { warn(w) }
        }
        do { try saver.finish() } catch { failure = failure ?? error }
        do { try collector.finish(treePack: treeWriter, codec: treeCodec, succeeded: failure == nil) } catch { failure = failure ?? error }
        if let failure { throw failure }

        if warningsDropped > 0 { stats.skipped.append("… and \(warningsDropped) more problems not listed") }
        stats.bytesNew = saver.newBytes
        stats.chunksNew = saver.newChunks
        stats.bytesStored = collector.storedBytes
        stats.durationSeconds = Date().timeIntervalSince(started)
        var snapshot = Snapshot(time: Timestamp.format(started), tree: rootID!, source: source, hostname: options.hostname,
                                username: ProcessInfo.processInfo.environment["USER"] ?? String(getuid()), tags: options.tags,
                                parent: parent?.id, policy: options.policy, excludes: options.excludes, stats: stats)
        let rootNode = Self.node(name: ".", st)
        snapshot.root = .init(mode: rootNode.mode, uid: rootNode.uid, gid: rootNode.gid, mtimeNanos: rootNode.mtimeNanos)
        let id = try repository.saveSnapshot(snapshot)
        return BackupResult(snapshotID: id, snapshot: snapshot, parentID: parent?.id, recoveredPacks: recovered.packs,
                            skippedSockets: skippedSockets)
    }

    private func findParent(source: String) throws -> SnapshotRecord? {
        if let reference = options.parent { return try repository.resolveSnapshot(reference) }
        return try repository.listSnapshots().last { $0.snapshot.source == source && $0.snapshot.hostname == options.hostname }
    }

    /// At most this many messages are kept in the snapshot (a tree of 100k unreadable files must not
    /// make a 10 MB snapshot); the rest are counted.
    static let maxWarnings = 1000
    private var warningsDropped = 0
    private var skippedSockets: [String] = []

    private func warn(_ message: String) {
        if stats.skipped.count < Self.maxWarnings { stats.skipped.append(message) } else { warningsDropped += 1 }
    }

    // MARK: Walking

    /// Saves one directory (recursively) and returns its tree id. Owns nothing: `fd` stays open.
    private func saveDirectory(fd: Int32, relativePath: String, parentTree: Tree?, included: Bool) throws -> BlobID {
        let display = relativePath.isEmpty ? "." : relativePath
        let names: [String]
        do {
            names = try DirectoryListing.names(fd: dup(fd), path: display).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        } catch {
            warn("\(display): cannot list directory (\((error as? VaultError)?.cause ?? "\(error)")), saved as empty")
            names = []
        }
        var nodes: [Node] = []
        var pending: [(Int, FileChunks)] = []
        let group = DispatchGroup()

        for name in names {
            try cancellation.check()
            if let e = saver.error { throw e }
            let rel = relativePath.isEmpty ? name : relativePath + "/" + name
            if filter.matches(relativePath: rel, name: name) { continue }
            let isIncluded = included || include.matches(relativePath: rel, name: name)
            var st = stat()
            if fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 {
                warn("\(rel): vanished before it could be read (\(String(cString: strerror(errno))))")
                continue
            }
            let previous = parentTree?.node(named: Array(name.utf8))
            var node = Self.node(name: name, st)
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                let child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if child < 0 {
                    warn("\(rel): cannot open directory (\(String(cString: strerror(errno)))), skipped")
                    continue
                }
                defer { Posix.close(child) }
                var previousTree: Tree?
                if let p = previous, p.kind == .directory, let sub = p.subtree {
                    previousTree = try? repository.loadTree(sub, codec: treeCodec)
                }
                node.subtree = try saveDirectory(fd: child, relativePath: rel, parentTree: previousTree, included: isIncluded)
                stats.directories += 1
            case S_IFREG:
                if !isIncluded { continue }
                stats.files += 1
                stats.bytesTotal += UInt64(st.st_size)
                if let p = previous, p.kind == .file, p.size == node.size, p.mtimeNanos == node.mtimeNanos,
                   p.ctimeNanos == node.ctimeNanos, p.inode == node.inode, p.chunks.allSatisfy(repository.index.contains) {
                    node.chunks = p.chunks
                    node.zeroRuns = p.zeroRuns
                    stats.filesUnchanged += 1
                    progress?.add(files: 1, bytes: node.size)
                } else if let chunks = try saveFile(dirFD: fd, name: name, relativePath: rel, node: &node, group: group,
                                                     known: previous?.kind == .file) {
                    pending.append((nodes.count, chunks))
                } else {
                    continue
                }
            case S_IFLNK:
                if !isIncluded { continue }
                var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let n = readlinkat(fd, name, &target, target.count - 1)
                if n <= 0 {
                    warn("\(rel): cannot read symlink (\(String(cString: strerror(errno)))), skipped")
                    continue
                }
                node.linkTarget = target[0..<n].map { UInt8(bitPattern: $0) }
                stats.symlinks += 1
            case S_IFIFO:
                if !isIncluded { continue }
            case S_IFSOCK:
                if isIncluded && skippedSockets.count < Self.maxWarnings { skippedSockets.append(rel) }
                continue
            default:
                warn("\(rel): special file (device) not backed up")
                continue
            }
            readXattrs(dirFD: fd, name: name, relativePath: rel, into: &node)
            nodes.append(node)
        }

        group.wait()
        if let e = saver.error { throw e }
        try cancellation.check()
        for (i, chunks) in pending {
            nodes[i].chunks = chunks.all; nodes[i].size = chunks.size; nodes[i].zeroRuns = chunks.zeroRuns
        }
        return try saveTree(Tree(nodes: nodes))
    }

    static func node(name: String, _ st: stat) -> Node {
        let kind: Node.Kind
        switch st.st_mode & S_IFMT {
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        case S_IFIFO: kind = .fifo
        default: kind = .file
        }
        return Node(name: Array(name.utf8), kind: kind, mode: UInt32(st.st_mode & 0o7777), uid: st.st_uid, gid: st.st_gid,
                    mtimeNanos: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                    ctimeNanos: Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec),
                    inode: UInt64(st.st_ino), device: UInt64(st.st_dev), links: UInt32(st.st_nlink),
                    size: kind == .file ? UInt64(st.st_size) : 0)
    }

    /// Opens one file and hands it to a reader thread; its chunks and final size arrive in the
    /// returned `FileChunks` before `group` completes. Returns nil when the file could not be
    /// opened (reported, and left out of the snapshot).
    private func saveFile(dirFD: Int32, name: String, relativePath: String, node: inout Node, group: DispatchGroup, known: Bool) throws -> FileChunks? {
        let fd = openat(dirFD, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 {
            warn("\(relativePath): cannot open (\(String(cString: strerror(errno)))), not backed up")
            return nil
        }
        var before = stat()
        fstat(fd, &before)
        node = Self.node(name: name, before)
        let chunks = FileChunks()
        group.enter()
        (known ? changedReader! : reader!).queue.push(ReadJob(fd: fd, relativePath: relativePath, before: before, chunks: chunks, group: group))
        return chunks
    }

    /// An entry whose attributes cannot be read is saved without them, with a warning.
    private func readXattrs(dirFD: Int32, name: String, relativePath: String, into node: inout Node) {
        do { node.xattrs = try XattrReader.read(dirFD: dirFD, name: Array(name.utf8)) } catch {
            warn("\(relativePath): \(error.message), saved without them")
        }
    }

    private func saveTree(_ tree: Tree) throws -> BlobID {
        let bytes = tree.encode()
        let id = SHA256.hash(bytes)
        guard dedup.claim(id) else { return id }
        if treeWriter == nil { treeWriter = try repository.newPackWriter(type: .tree) }
        _ = try bytes.withUnsafeBytes { try treeWriter!.add(id: id, plaintext: $0, codec: treeCodec) }
        if treeWriter!.size >= repository.config.packSize {
            let pack = try treeWriter!.finish(codec: treeCodec)
            treeWriter = nil
            try repository.storePack(pack)
            try collector.add(pack)
        }
        return id
    }
}
