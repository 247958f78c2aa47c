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
    /// The chain profile to check the source with: nil detects it, "none" checks nothing.
    public var chain: String?
    public var chainCheck: ChainCheckMode = .recorded
    /// The incremental chain-check state of this source; nil checks the whole chain each time.
    public var chainStatePath: String?

    public init(source: String) { self.source = source }
}

public struct BackupResult: Sendable {
    public let snapshotID: SnapshotID
    public let snapshot: Snapshot
    public let parentID: SnapshotID?
    public let recoveredPacks: Int
    /// Things worth telling the operator that lost nothing (so not "skipped"): a parent tree that
    /// could not be read, whose files were therefore all read again.
    public let notices: [String]
    /// Sockets in the source, relative paths: skipped by design (a program recreates its socket when
    /// it starts), so they are not warnings.
    public let skippedSockets: [String]
    public var warnings: [String] { snapshot.stats.skipped }
    /// The newest snapshot this backup saw when it started, when its time is later than this
    /// backup's: that host's clock runs ahead (reported, and ordered by what each backup saw).
    public var aheadOfClock: SnapshotRecord?
    /// Bytes of changed files kept as the parent snapshot's chunks after a SHA-256 check instead
    /// of being chunked again (an appended file's unchanged start; `FileReader.reusePrefix`).
    public var bytesReused: UInt64 = 0
}

/// Backup: walks the source, saves files and trees, writes the snapshot last.
public final class Archiver {
    let repository: Repository
    let options: BackupOptions
    let progress: JobProgress?
    let cancellation: Cancellation
    let filter: PathPatterns
    let include: PathPatterns
    var stats = Snapshot.Stats()
    let treeCodec: BlobCodec
    var saver: BlobSaver!
    var reader: FileReader!
    var changedReader: FileReader!
    /// Block files stored de-obfuscated, found when the backup starts.
    var blockFileKeys: BlockFileKeys?

    public init(
        repository: Repository, options: BackupOptions, progress: JobProgress? = nil,
        cancellation: Cancellation = Cancellation()
    ) {
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
            throw VaultError(
                .sourceUnreadable, "backup source \(source) does not exist or is not a readable directory",
                cause: Errno.current, hint: "check the path; a chain data directory is backed up as a whole")
        }
        defer { Posix.close(rootFD) }
        var rootNode = Self.node(name: [46], try Posix.fstat(rootFD, path: source))
        // The source directory's own attributes (a default ACL on /var/lib/bitcoind): no tree entry
        // holds them, so the snapshot does. An empty name: the /proc link is the directory itself.
        readXattrs(dirFD: rootFD, name: [], relativePath: ".", into: &rootNode)

        blockFileKeys = BlockFileKeys(source: source, chain: options.chain)
        try repository.loadIndex()
        let recovered = try repository.recoverUnindexedPacks()
        // Tests pause here: this backup knows the index as it is now and has stored nothing, as
        // when backups of the same new data start at once (issue 18).
        Failpoint.stop("backup-index-loaded")
        let known = try repository.listSnapshots()
        let newestSeen = known.last
        let parent = try findParent(source: source, known: known)
        let parentTree = loadParentTree(parent)
        // The previous snapshot's size is the best estimate of this one's, for the ETA.
        if let total = parent?.snapshot.stats.bytesTotal { progress?.setTotal(total) }
        // A first backup has no such estimate: a walk of sizes only, running beside it (SizeWalk),
        // when someone shows the total.
        let walked = parent == nil ? progress.flatMap { $0.totalWanted ? $0 : nil } : nil
        let sizeWalk = walked.flatMap { progress in
            SizeWalk(
                root: rootFD, display: Path.absolute(options.source), filter: filter, include: include,
                rootIncluded: options.includes.isEmpty
            ) { progress.setTotal($0) }
        }
        var succeeded = false
        defer { if succeeded { sizeWalk?.finish() } else { sizeWalk?.stop() } }

        var rootID: BlobID?
        let saved = try repository.withBlobSaver(.adding(indexEvery: options.indexEvery), workers: options.workers) {
            try walk(saver: $0, root: rootFD, parentTree: parentTree, rootID: &rootID)
        }
        // The walk's total stands in the final progress record: wait for it (it is usually done).
        succeeded = true
        sizeWalk?.finish()

        if warningsDropped > 0 { stats.skipped.append("… and \(warningsDropped) more problems not listed") }
        stats.bytesNew = saved.dataBytes
        stats.chunksNew = saved.dataBlobs
        stats.bytesStored = saved.storedBytes
        stats.durationSeconds = Date().timeIntervalSince(started)
        var snapshot = Snapshot(
            time: started, tree: rootID!, source: source, hostname: options.hostname,
            username: ProcessInfo.processInfo.environment["USER"] ?? String(getuid()), tags: options.tags,
            parent: parent?.id, policy: options.policy, excludes: options.excludes, stats: stats)
        snapshot.newestSeen = newestSeen?.id
        if !incomplete.isEmpty || incompleteDropped > 0 {
            snapshot.partial = true
            snapshot.incomplete = incomplete + (incompleteDropped > 0 ? ["… and \(incompleteDropped) more"] : [])
        }
        snapshot.root = .init(rootNode)
        let parentRoot = parentTree.flatMap { tree in parent.map { (tree: tree, id: $0.snapshot.tree.hex) } }
        snapshot.chainCheck = try BackupChainCheck.run(
            source: source, options: options, repository: repository,
            parent: parentRoot, tree: rootID!)
        let id = try repository.saveSnapshot(snapshot)
        var result = BackupResult(
            snapshotID: id, snapshot: snapshot, parentID: parent?.id, recoveredPacks: recovered.packs,
            notices: notices, skippedSockets: skippedSockets)
        if let newestSeen, newestSeen.snapshot.time > started { result.aheadOfClock = newestSeen }
        result.bytesReused = bytesReused
        return result
    }

    /// Walks the source into `saver`. Always drains the readers before it returns, so every
    /// chunk read reaches the saver, which stores and indexes every complete pack: a failed or
    /// interrupted backup still leaves reusable data behind. Readers first: they may wait on the
    /// workers' byte budget, never the other way round.
    private func walk(saver: BlobSaver, root: Int32, parentTree: Tree?, rootID: inout BlobID?) throws {
        self.saver = saver
        // Two readers: one for files new since the parent snapshot, one for changed files it knew.
        // A first backup is bound by compression (all data is new), so one reader keeps up and
        // the other never allocates its buffer; an incremental backup is bound by reading and
        // chunking changed files (FastCDC is sequential within a file), and both readers share it.
        let chunker = repository.config.chunker
        reader = FileReader(
            threads: 1, saver: saver, index: repository.index, parameters: chunker,
            progress: progress, cancellation: cancellation)
        changedReader = FileReader(
            threads: 1, saver: saver, index: repository.index, parameters: chunker,
            progress: progress, cancellation: cancellation)
        progress?.setPhase("reading")
        var failure: Error?
        do {
            rootID = try saveTree(root: root, parentTree: parentTree, included: options.includes.isEmpty)
        } catch {
            failure = error
        }
        for r in [reader!, changedReader!] {
            r.finish()
            stats.bytesRead += r.bytesRead
            bytesReused += r.bytesReused
            for w in r.warnings { warn(w) }
            for path in r.incomplete { markIncomplete(path) }
        }
        progress?.setPhase("saving")
        if let failure { throw failure }
    }

    /// The newest complete snapshot of this source and host: a partial one holds files cut short
    /// whose size and mtime may still match, and they must be read again, not reused.
    private func findParent(source: String, known: [SnapshotRecord]) throws -> SnapshotRecord? {
        if let reference = options.parent { return try repository.resolveSnapshot(reference) }
        return known.last {
            $0.snapshot.source == source && $0.snapshot.hostname == options.hostname && !$0.snapshot.isPartial
        }
    }

    /// The parent snapshot's root tree, or nil (every file read) when it cannot be loaded: a
    /// damaged tree must never block the backups that would replace it.
    private func loadParentTree(_ parent: SnapshotRecord?) -> Tree? {
        guard let parent else { return nil }
        let root = parent.snapshot.tree
        do { return try repository.loadTree(root, codec: treeCodec) } catch {
            let reason = (error as? VaultError)?.message ?? "\(error)"
            notices.append(
                "the tree of parent snapshot \(parent.shortID) cannot be read (\(reason)), so every file was read again"
            )
            return nil
        }
    }

    /// At most this many messages are kept in the snapshot (a tree of 100k unreadable files must not
    /// make a 10 MB snapshot); the rest are counted.
    static let maxWarnings = 1000
    var warningsDropped = 0
    var skippedSockets: [String] = []

    /// See `BackupResult.notices`.
    var notices: [String] = []
    /// See `BackupResult.bytesReused`.
    var bytesReused: UInt64 = 0

    func warn(_ message: String) {
        if stats.skipped.count < Self.maxWarnings { stats.skipped.append(message) } else { warningsDropped += 1 }
    }

    /// Paths of files not read whole, bounded like the warnings.
    private var incomplete: [String] = []
    private var incompleteDropped = 0

    func markIncomplete(_ path: String) {
        if incomplete.count < Self.maxWarnings { incomplete.append(path) } else { incompleteDropped += 1 }
    }

    static func node(name: [UInt8], _ st: stat) -> Node {
        let kind: Node.Kind
        switch st.st_mode & S_IFMT {
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        case S_IFIFO: kind = .fifo
        default: kind = .file
        }
        return Node(
            name: name, kind: kind, mode: UInt32(st.st_mode & 0o7777), uid: st.st_uid, gid: st.st_gid,
            mtimeNanos: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
            ctimeNanos: Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec),
            inode: UInt64(st.st_ino), device: UInt64(st.st_dev), links: UInt32(st.st_nlink),
            size: kind == .file ? UInt64(st.st_size) : 0)
    }

    /// Opens one file and hands it to a reader thread; its chunks and final size arrive in the
    /// returned `FileChunks` before `group` completes. Returns nil when the file could not be
    /// opened (reported, and left out of the snapshot).
    /// `previous`: the parent snapshot's node of this file, whose leading chunks the reader may keep.
    func saveFile(
        dirFD: Int32, name: [UInt8], relativePath: String, node: inout Node, group: DispatchGroup,
        previous: Node?
    ) throws -> FileChunks? {
        let fd = Posix.tryOpenAt(dirFD, name, O_RDONLY | O_NOFOLLOW)
        if fd < 0 {
            warn("\(relativePath): cannot open (\(String(cString: strerror(errno)))), not backed up")
            return nil
        }
        guard let before = try? Posix.fstat(fd, path: relativePath) else {
            warn("\(relativePath): cannot stat (\(String(cString: strerror(errno)))), not backed up")
            Posix.close(fd)
            return nil
        }
        node = Self.node(name: name, before)
        let chunks = FileChunks()
        group.enter()
        var job = ReadJob(
            fd: fd, relativePath: relativePath, before: before, chunks: chunks, group: group,
            obfuscation: blockFileKeys?.obfuscation(of: relativePath))
        // Only a parent stored as plain data can lend chunks; the reader checks each one's bytes.
        if let p = previous, p.kind == .file, p.zeroRuns.isEmpty, p.transform == nil, p.size <= node.size {
            job.previous = p.chunks
        }
        (previous?.kind == .file ? changedReader! : reader!).queue.push(job)
        return chunks
    }

    /// An entry whose attributes cannot be read is saved without them, with a warning.
    func readXattrs(dirFD: Int32, name: [UInt8], relativePath: String, into node: inout Node) {
        do { node.xattrs = try XattrReader.read(dirFD: dirFD, name: name) } catch {
            warn("\(relativePath): \(error.message), saved without them")
        }
    }

    /// `directory` names the directory (for the error) when its tree is over the format's bound.
    func saveTree(_ tree: Tree, directory: () -> String = { "/" }) throws -> BlobID {
        let bytes = tree.encode()
        // Readers refuse a larger tree (FORMAT.md §7): storing one would make the snapshot unreadable.
        guard bytes.count <= Tree.maxEncodedSize else {
            throw VaultError(
                .failure,
                "directory \(directory()) is too large to store: its tree takes \(bytes.count) "
                    + "bytes, more than the \(Tree.maxEncodedSize >> 20) MiB a tree may hold",
                hint: "exclude part of it (--exclude) or split it into subdirectories; nothing was stored")
        }
        return try bytes.withUnsafeBytes { try saver.save(.tree, $0).id }
    }
}
