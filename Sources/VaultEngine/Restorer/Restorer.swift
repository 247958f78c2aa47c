import Foundation
import Glibc
import VaultCore
import VaultRepository

public struct RestoreOptions: Sendable {
    public var snapshot: String
    public var target: String
    /// Restore only this path of the snapshot, into the same place under the target.
    public var subpath: String?
    /// Reuse the live target's bytes where they already match.
    public var delta = false
    /// Replace a non-empty target (kept as `<target>.pre-restore-<time>`).
    public var force = false
    /// Paths (globs, relative to the snapshot root) never rolled back: when the target has a live
    /// copy, the restored tree gets the live copy, not the snapshot's older one. A validator's
    /// signing state only moves forward; an older one lets it sign twice.
    public var protect: [String] = []
    /// Restore protected paths from the snapshot even when a live copy exists.
    public var overwriteProtected = false
    public var workers: Int = max(2, Parallel.cores)

    public init(snapshot: String, target: String) { self.snapshot = snapshot; self.target = target }
}

public struct RestoreResult: Sendable {
    public let snapshotID: String
    public let destination: String
    /// Where the previous content of the destination now is, if there was any.
    public let previous: String?
    public let removedStaging: [String]
    /// Previous trees found under a staging name (a crash between the swap and its rename), now
    /// kept under a `.pre-restore-` name.
    public let keptFromInterruptedSwap: [String]
    public let files: UInt64
    public let directories: UInt64
    public let bytesFetched: UInt64
    public let bytesReused: UInt64
    public let durationSeconds: Double
    /// Protected files whose live copy was kept.
    public let protectedKept: [String]
    /// Protected files restored from the snapshot (no live copy, or --overwrite-protected).
    public let protectedFromSnapshot: [String]
    /// Metadata that could not be set (an extended attribute namespace this user may not write).
    public let warnings: [String]
}

/// Restore: stage beside the destination, check every chunk as it is written, sync, then swap the
/// staged tree in atomically. What was there is kept, never deleted.
public final class Restorer {
    let repository: Repository
    let options: RestoreOptions
    let progress: JobProgress?
    let cancellation: Cancellation
    private let codec: BlobCodec
    private var writer: FileRestorer!
    private var directories: [(String, Node)] = []
    private var symlinks: [(String, Node)] = []
    private var hardlinks: [String: String] = [:]
    private var files: UInt64 = 0
    private let applyOwner = geteuid() == 0
    private let protect: PathPatterns
    /// The restored unit's path inside the snapshot ("" for the whole snapshot).
    private var unitPath = ""
    private var destination = ""
    private var protectedKept: [String] = []
    private var protectedFromSnapshot: [String] = []
    private let metadata = MetadataApplier()

    public init(repository: Repository, options: RestoreOptions, progress: JobProgress? = nil, cancellation: Cancellation = Cancellation()) {
        self.repository = repository; self.options = options; self.progress = progress; self.cancellation = cancellation
        codec = repository.makeCodec()
        protect = PathPatterns(options.protect)
    }

    public func run() throws -> RestoreResult {
        let started = Date()
        try repository.loadIndex()
        let record = try repository.resolveSnapshot(options.snapshot)
        guard let rootID = record.snapshot.treeID else { throw VaultError(.corrupt, "snapshot \(record.shortID) has no valid tree id") }
        var unit = Node(name: [], kind: .directory, mode: 0o755, subtree: rootID)
        if options.subpath == nil { progress?.setTotal(record.snapshot.stats.bytesTotal) }
        var destination = Path.absolute(options.target)
        if let sub = options.subpath, !sub.isEmpty, sub != "." && sub != "/" {
            unit = try locate(sub, from: rootID, snapshot: record.shortID)
            unitPath = sub.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
            destination = Path.join(destination, unitPath)
        } else if let root = record.snapshot.root {
            unit.mode = root.mode; unit.uid = root.uid; unit.gid = root.gid; unit.mtimeNanos = root.mtimeNanos
        }

        self.destination = destination
        let existing = try Posix.lstat(destination)
        let destinationIsDirectory = existing.map { ($0.st_mode & S_IFMT) == S_IFDIR } ?? false
        var nonEmpty = existing != nil
        if destinationIsDirectory { nonEmpty = !(try DirectoryListing.names(destination)).isEmpty }
        if nonEmpty && !options.delta && !options.force {
            throw VaultError(.targetNotEmpty, "restore target \(destination) exists and is not empty",
                             hint: "restore into an empty or new directory, or add --delta (reuse what is there) or --force; either way the current content is kept as \(Path.base(destination)).pre-restore-<time>")
        }

        let parent = Path.parent(destination)
        try Posix.mkdirs(parent)
        let (removed, recovered) = try handleLeftoverStaging(for: destination)
        let stamp = Self.stamp(started)
        let staging = destination + ".chainvault-staging-" + stamp + "-" + Hex.encode(SecureRandom.bytes(3))
        // A network store answers each blob read after a round trip: keep as many reads in flight as
        // it takes transfers.
        writer = FileRestorer(repository: repository, workers: max(options.workers, repository.backend.preferredConcurrency),
                              applyOwner: applyOwner, metadata: metadata, progress: progress)
        let previousRoot = options.delta && existing != nil ? destination : nil

        do {
            try stage(unit, at: staging, previousRoot: previousRoot)
        } catch {
            _ = try? writer.finish()
            try? Posix.removeTree(staging)
            throw error
        }
        do { try writer.finish() } catch {
            try? Posix.removeTree(staging)
            throw error
        }
        if unit.kind == .directory { try Posix.unlink(staging + "/" + Self.incompleteMarker) }
        try applyDirectoryMetadata(staging: staging)

        // Everything staged is on disk before the swap makes it live.
        let syncFD = try Posix.open(parent, O_RDONLY | O_DIRECTORY)
        defer { Posix.close(syncFD) }
        try Posix.syncFileSystem(syncFD, path: staging)

        var previous: String?
        if existing != nil && !(destinationIsDirectory && !nonEmpty) {
            // One atomic step: the live name points at the old tree or the new, never at a mix.
            try Posix.exchange(staging, destination)
            do {
                previous = try keep(staging, as: destination + ".pre-restore-" + stamp)
            } catch {
                throw VaultError(.storageFailure, "restored \(destination), but the previous content could not be renamed and is at \(staging)",
                                 cause: (error as? VaultError)?.message, hint: "rename \(staging) yourself; chainvault will not delete it")
            }
        } else {
            if existing != nil { _ = rmdir(destination) }
            try Posix.rename(staging, destination)
        }
        try Posix.fsyncDirectory(parent)
        return RestoreResult(snapshotID: record.id, destination: destination, previous: previous, removedStaging: removed, keptFromInterruptedSwap: recovered,
                             files: files, directories: UInt64(directories.count), bytesFetched: writer.bytesFetched,
                             bytesReused: writer.bytesReused, durationSeconds: Date().timeIntervalSince(started),
                             protectedKept: protectedKept, protectedFromSnapshot: protectedFromSnapshot,
                             warnings: metadata.warnings)
    }

    static func stamp(_ date: Date) -> String {
        Timestamp.format(date).prefix(19).replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "-", with: "") + "Z"
    }

    /// Finds a path inside the snapshot, only through directory entries (never through a symlink).
    private func locate(_ subpath: String, from root: BlobID, snapshot: String) throws -> Node {
        var tree = try repository.loadTree(root, codec: codec)
        let parts = subpath.split(separator: "/").filter { $0 != "." }
        var found: Node?
        for (i, part) in parts.enumerated() {
            guard part != "..", let node = tree.node(named: Array(part.utf8)) else {
                throw VaultError(.unknownSnapshot, "path \(subpath) is not in snapshot \(snapshot)",
                                 hint: "list its content with 'chainvault ls \(snapshot)'")
            }
            if i < parts.count - 1 {
                guard node.kind == .directory, let sub = node.subtree else {
                    throw VaultError(.unknownSnapshot, "\(parts[0...i].joined(separator: "/")) in snapshot \(snapshot) is not a directory")
                }
                tree = try repository.loadTree(sub, codec: codec)
            }
            found = node
        }
        guard let node = found else { throw VaultError(.usage, "empty --path") }
        return node
    }

    /// Inside a staging directory until it is complete; a leftover staging directory with it was
    /// never swapped in and may be deleted. One without it is a previous tree that a crash left
    /// between the swap and its rename: it is kept, never deleted.
    static let incompleteMarker = ".chainvault-incomplete"

    private func handleLeftoverStaging(for destination: String) throws -> ([String], [String]) {
        let prefix = Path.base(destination) + ".chainvault-staging-"
        var removed: [String] = [], kept: [String] = []
        for name in try DirectoryListing.names(Path.parent(destination)) where name.hasPrefix(prefix) {
            let path = Path.parent(destination) + "/" + name
            if try Posix.lstat(path + "/" + Self.incompleteMarker) != nil {
                try Posix.removeTree(path)
                removed.append(path)
            } else {
                kept.append(try keep(path, as: destination + ".pre-restore-" + String(name.dropFirst(prefix.count).prefix(16))))
            }
        }
        return (removed, kept)
    }

    /// Renames without ever replacing: `name`, then `name-2`, `name-3`…; returns the name used.
    private func keep(_ path: String, as name: String) throws -> String {
        var candidate = name
        for n in 2...1000 {
            do {
                try Posix.renameNoReplace(path, candidate)
                return candidate
            } catch let e as VaultError where e.code == .alreadyExists || e.cause?.contains("not empty") == true {
                candidate = name + "-\(n)"
            }
        }
        throw VaultError(.storageFailure, "no free name to keep \(path) as \(name)")
    }

    // MARK: Staging

    private func stage(_ unit: Node, at staging: String, previousRoot: String?) throws {
        let parentFD = try Posix.open(Path.parent(staging), O_RDONLY | O_DIRECTORY)
        defer { Posix.close(parentFD) }
        var named = unit
        named.name = Array(Path.base(staging).utf8)
        try restore(named, in: parentFD, relativePath: "", previous: previousRoot)
    }

    /// Creates `node` inside the directory `dirFD` (which this restore created, so no component of the
    /// path can be a symlink planted by the snapshot). Names were validated when the tree was decoded.
    private func restore(_ node: Node, in dirFD: Int32, relativePath: String, previous: String?) throws {
        try cancellation.check()
        if let e = writer.error { throw e }
        let name = String(decoding: node.name, as: UTF8.self)
        switch node.kind {
        case .directory:
            guard let sub = node.subtree else { throw VaultError(.corrupt, "directory \(relativePath) has no tree") }
            let tree = try repository.loadTree(sub, codec: codec)
            if mkdirat(dirFD, name, 0o700) != 0 { throw Posix.error("create directory", relativePath) }
            let fd = try Posix.openAt(dirFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, displayPath: relativePath)
            defer { Posix.close(fd) }
            if relativePath.isEmpty {
                let marker = try Posix.openAt(fd, Self.incompleteMarker, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600, displayPath: Self.incompleteMarker)
                Posix.close(marker)
            }
            directories.append((relativePath, node))
            for child in tree.nodes {
                let childPath = relativePath.isEmpty ? child.nameString : relativePath + "/" + child.nameString
                try restore(child, in: fd, relativePath: childPath, previous: previous.map { $0 + "/" + child.nameString })
            }
        case .symlink:
            let target = String(decoding: node.linkTarget, as: UTF8.self)
            if symlinkat(target, dirFD, name) != 0 { throw Posix.error("create symlink", relativePath) }
            if applyOwner { _ = fchownat(dirFD, name, node.uid, node.gid, AT_SYMLINK_NOFOLLOW) }
            try metadata.setXattrs(node, dirFD: dirFD, name: node.name, path: relativePath)
            var times = [Glibc.timespec](repeating: RestoreFile.time(node.mtimeNanos), count: 2)
            _ = utimensat(dirFD, name, &times, AT_SYMLINK_NOFOLLOW)
        case .file:
            try restoreFile(node, name: name, in: dirFD, relativePath: relativePath, previous: previous)
        case .fifo:
            try metadata.makeFifo(node, in: dirFD, relativePath: relativePath, applyOwner: applyOwner)
        }
    }

    private func restoreFile(_ node: Node, name: String, in dirFD: Int32, relativePath: String, previous: String?) throws {
        files += 1
        let snapshotPath = [unitPath, relativePath].filter { !$0.isEmpty }.joined(separator: "/")
        if !options.protect.isEmpty, protect.matches(relativePath: snapshotPath, name: Path.base(snapshotPath)) {
            let live = relativePath.isEmpty ? destination : destination + "/" + relativePath
            if !options.overwriteProtected, try copyLive(live, into: dirFD, name: name, relativePath: relativePath) {
                protectedKept.append(snapshotPath)
                return
            }
            protectedFromSnapshot.append(snapshotPath)
        }
        let linkKey = "\(node.device):\(node.inode)"
        if node.links > 1, node.inode != 0, let first = hardlinks[linkKey] {
            // Same inode as a file restored earlier in this snapshot: link to it (inside staging only).
            if linkat(AT_FDCWD, first, dirFD, name, 0) == 0 { return }
        }
        let fd = try Posix.openAt(dirFD, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600, displayPath: relativePath)
        if node.links > 1, node.inode != 0 { hardlinks[linkKey] = "/proc/self/fd/\(dirFD)/\(name)".withRealPath() }

        var locations: [BlobLocation] = []
        locations.reserveCapacity(node.chunks.count)
        var lengths: [UInt64] = []
        lengths.reserveCapacity(node.chunks.count)
        for id in node.chunks {
            guard let location = repository.index.lookup(id) else {
                Posix.close(fd)
                throw VaultError(.missing, "chunk \(id.shortHex) of \(relativePath) is not in the repository",
                                 hint: "the repository is damaged; run 'chainvault verify' and restore from another snapshot")
            }
            lengths.append(UInt64(location.entry.rawLength))
            locations.append(location)
        }
        // Chunks and zero runs must tile the file exactly (FORMAT.md §7).
        // Zero runs never overlap and each fits in `size` (checked on decode); the sum is checked
        // for overflow anyway, since `size` comes from storage.
        let zeroBytes = node.zeroRuns.reduce(0) { $0 &+ $1.length }
        let (total, overflow) = lengths.reduce(0, +).addingReportingOverflow(zeroBytes)
        guard !overflow, total == node.size, total <= UInt64(Int64.max),
              let offsets = node.chunkOffsets(rawLengths: lengths) else {
            Posix.close(fd)
            throw VaultError(.corrupt, total == node.size
                ? "\(relativePath): its chunks overlap its zero runs"
                : "\(relativePath): its chunks add up to \(total) bytes but the snapshot records \(node.size)")
        }
        // The file is new: ftruncate makes every byte a hole reading as zeros, chunks fill the data
        // ranges, and only the zero runs the source had allocated get blocks again.
        do {
            if total > 0, ftruncate(fd, off_t(total)) != 0 { throw Posix.error("allocate", relativePath) }
            try MetadataApplier.reserveZeroRuns(node, fd: fd, path: relativePath)
        } catch {
            Posix.close(fd)
            throw error
        }
        var previousFD: Int32 = -1
        if let previous, node.size > 0 { previousFD = Glibc.open(previous, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
        var pieces: [Piece] = []
        pieces.reserveCapacity(node.chunks.count)
        for (i, (id, location)) in zip(node.chunks, locations).enumerated() {
            pieces.append(Piece(offset: Int(offsets[i]), id: id, location: location))
        }
        // From a network store, chunks back to back in a pack come in one range read of up to
        // 8 MiB (a local disk gains nothing from it and would only hold more memory).
        let span = repository.backend.preferredConcurrency > 1 ? 8 << 20 : 0
        let groups = WriteJob.plan(pieces, span: span)
        let file = RestoreFile(fd: fd, node: node, path: relativePath, previousFD: previousFD, jobs: groups.count)
        if groups.isEmpty {
            try file.finish(applyOwner: applyOwner, metadata: metadata)
            progress?.add(files: 1)
            return
        }
        for group in groups { writer.queue.push(WriteJob(file: file, pieces: group)) }
    }

    /// Copies a protected file's live copy (content, mode, owner, mtime) into the staged tree.
    /// Returns false when there is no live regular file to keep.
    private func copyLive(_ live: String, into dirFD: Int32, name: String, relativePath: String) throws -> Bool {
        let src = Glibc.open(live, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if src < 0 { return false }
        defer { Posix.close(src) }
        var st = stat()
        guard fstat(src, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return false }
        let dst = try Posix.openAt(dirFD, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600, displayPath: relativePath)
        defer { Posix.close(dst) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset = 0
        while true {
            let n = try buffer.withUnsafeMutableBytes { try Posix.pread(src, $0, offset: offset, path: live) }
            if n == 0 { break }
            try buffer.withUnsafeBytes { try Posix.pwriteAll(dst, UnsafeRawBufferPointer(rebasing: $0[0..<n]), offset: offset, path: relativePath) }
            offset += n
        }
        if applyOwner { _ = fchown(dst, st.st_uid, st.st_gid) }
        _ = fchmod(dst, st.st_mode & 0o7777)
        var times = [st.st_atim, st.st_mtim]
        _ = futimens(dst, &times)
        return true
    }

    /// Directory modes and times last (children change a directory's mtime), deepest first.
    private func applyDirectoryMetadata(staging: String) throws {
        for (relativePath, node) in directories.reversed() {
            let path = relativePath.isEmpty ? staging : staging + "/" + relativePath
            let fd = try Posix.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
            defer { Posix.close(fd) }
            if applyOwner { _ = fchown(fd, node.uid, node.gid) }
            try metadata.setXattrs(node, fd: fd, path: relativePath.isEmpty ? "." : relativePath)
            _ = fchmod(fd, mode_t(node.mode))
            var times = [Glibc.timespec](repeating: RestoreFile.time(node.mtimeNanos), count: 2)
            _ = futimens(fd, &times)
        }
    }
}

private extension String {
    /// Resolves a /proc/self/fd path to the real path now, while the descriptor is open.
    func withRealPath() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard realpath(self, &buffer) != nil else { return self }
        return String(cString: buffer)
    }
}
