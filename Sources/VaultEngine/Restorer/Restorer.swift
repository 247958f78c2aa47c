import Foundation
import Glibc
import VaultCore
import VaultRepository

/// Restore: stage beside the destination, check every chunk as it is written, sync, then swap the
/// staged tree in atomically. What was there is kept, never deleted.
public final class Restorer {
    let repository: Repository
    let options: RestoreOptions
    let progress: JobProgress?
    let cancellation: Cancellation
    let codec: BlobCodec
    var writer: FileRestorer!
    /// Every staged directory as (parent index, name), index 0 the staging root: enough to reach
    /// any of them from the root with `openat` per component, in memory linear in their number.
    var stagedDirectories: [(parent: Int, name: [UInt8])] = []
    /// The first file restored for each (device, inode) of the snapshot, for its other names.
    var hardlinks: [String: HardlinkSource] = [:]
    var directoryCount: UInt64 = 0
    var files: UInt64 = 0
    let applyOwner = geteuid() == 0
    let protect: PathPatterns
    /// The restored unit's path inside the snapshot ("" for the whole snapshot).
    var unitPath = ""
    var destination = ""
    var protectedKept: [String] = []
    var protectedFromSnapshot: [String] = []
    /// Delta restores: the live tree whose bytes may be reused.
    var previousRoot: String?
    /// The staging root's descriptor while staging (owned by the staging cursor), else -1.
    var stagingRoot: Int32 = -1
    let metadata = MetadataApplier()
    /// Held for the whole run (`Restorer+Lock.swift`).
    let targetLocks = TargetLocks()

    public init(repository: Repository, options: RestoreOptions, progress: JobProgress? = nil, cancellation: Cancellation = Cancellation()) {
        self.repository = repository; self.options = options; self.progress = progress; self.cancellation = cancellation
        codec = repository.makeCodec()
        protect = PathPatterns(options.protect)
    }

    public func run() throws -> RestoreResult {
        let started = Date()
        try repository.loadIndex()
        let record = try repository.resolveSnapshot(options.snapshot)
        let rootID = record.snapshot.tree
        var unit = Node(name: [], kind: .directory, mode: 0o755, subtree: rootID)
        if options.subpath == nil { progress?.setTotal(record.snapshot.stats.bytesTotal) }
        var destination = Path.absolute(options.target)
        if let sub = options.subpath, !sub.isEmpty, sub != "." && sub != "/" {
            let names: [[UInt8]]
            (unit, names) = try locate(sub, from: rootID, snapshot: record.shortID)
            unitPath = sub.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
            // The destination is named by a String path: a name that is not UTF-8 cannot be in it.
            guard names.allSatisfy({ String(validating: $0, as: UTF8.self) != nil }) else {
                throw VaultError(.usage, "path \(sub) of snapshot \(record.shortID) has a name that is not valid UTF-8, which --path cannot restore to",
                                 hint: "restore the nearest directory above it whose path is UTF-8 (or the whole snapshot): names inside are restored as their exact bytes")
            }
            destination = Path.join(destination, unitPath)
        } else if let root = record.snapshot.root {
            unit.mode = root.mode; unit.uid = root.uid; unit.gid = root.gid; unit.mtimeNanos = root.mtimeNanos
            guard let attributes = root.extendedAttributes() else {
                throw VaultError(.corrupt, "snapshot \(record.shortID) records extended attributes of its root beyond Linux's limits",
                                 hint: "the snapshot was crafted or damaged; nothing was written for it")
            }
            unit.xattrs = attributes
        }

        // The source rule is about the target directory: one file restored into the live source
        // (`--target SOURCE --path blocks/x`) is what an operator does. The rest holds for both.
        let targetDirectory = try resolveTarget(Path.absolute(options.target))
        try refuseUnsafeTarget(targetDirectory, source: record.snapshot.source)
        destination = try resolveTarget(destination)
        if destination != targetDirectory { try refuseUnsafeTarget(destination, source: "") }
        self.destination = destination
        let existing = try Posix.lstat(destination)
        let destinationIsDirectory = existing.map { ($0.st_mode & S_IFMT) == S_IFDIR } ?? false
        let stamp = Self.stamp(started)
        // A network store answers each blob read after a round trip: keep as many reads in flight as
        // it takes transfers.
        writer = FileRestorer(repository: repository, workers: max(options.workers, repository.preferredConcurrency),
                              applyOwner: applyOwner, metadata: metadata, progress: progress,
                              cancellation: cancellation)
        defer { _ = try? writer.finish() }
        // Before the recovery step: another run's live work must not look interrupted to this one.
        defer { targetLocks.unlockAll() }
        try lockTarget(targetLocks, targetDirectory: targetDirectory)
        if options.rollback, let undone = try rollBackStagedSwap() { return swapRollbackResult(record.id, undone) }
        var recovery = Recovery()
        if destinationIsDirectory { recovery = try recoverInPlace(stamp: stamp, rollback: options.rollback) }
        else if options.rollback { throw VaultError(.usage, "\(destination) has no interrupted restore to roll back") }
        var result = RestoreResult(snapshotID: record.id, destination: destination)
        result.completedJournal = recovery.rolledBack ? nil : recovery.snapshotID
        result.rolledBack = recovery.rolledBack ? recovery.snapshotID : nil
        result.clearedUnfinished = recovery.clearedUnfinished
        if options.rollback {
            result.warnings = leftoverNotices() + stagingLeftoverNotices()
            result.durationSeconds = Date().timeIntervalSince(started)
            return result
        }
        var nonEmpty = existing != nil
        if destinationIsDirectory { nonEmpty = !(try DirectoryListing.names(destination)).isEmpty }
        let mountPoint = destinationIsDirectory && Self.isMountPoint(destination)
        if options.requireEmpty && nonEmpty {
            throw VaultError(.targetNotEmpty, "restore target \(destination) exists and is not empty",
                             hint: "restore into an empty or new directory, or ask for mode \"delta\" (in place) or \"force\"")
        }
        if destinationIsDirectory && unit.kind == .directory && (nonEmpty || mountPoint) && (!options.force || mountPoint) {
            let outcome = try restoreInPlace(unit, snapshotID: record.id.hex, full: options.force, stamp: stamp)
            try writer.finish()
            result.mode = options.force ? "in-place-full" : "in-place"
            result.previous = outcome.previous ?? recovery.previous
            result.filesUnchanged = outcome.plan.filesUnchanged
            result.filesHashed = outcome.plan.filesHashed
            result.entriesReplaced = UInt64(outcome.plan.steps.filter { $0.kind != .meta }.count)
            result.bytesWritten = outcome.plan.bytesToWrite
        } else {
            // A single entry onto an existing one is a delta restore by default, as a directory
            // onto a directory is (FORMAT.md, "Single entries"): rebuilt beside it reusing its
            // matching bytes, the old one kept. Only a change of kind must be asked for.
            let entryOntoEntry = unit.kind != .directory && existing != nil && !destinationIsDirectory
            if nonEmpty && !options.delta && !options.force && !entryOntoEntry {
                throw VaultError(.targetNotEmpty, "restore target \(destination) exists and is not empty",
                                 hint: "restore into an empty or new directory, or add --delta (reuse what is there) or --force; either way the current content is kept as \(Path.base(destination)).pre-restore-<time>")
            }
            let swap = try restoreStaged(unit, existing: existing != nil, replaceable: !(destinationIsDirectory && !nonEmpty),
                                         delta: options.delta || (entryOntoEntry && !options.force), stamp: stamp)
            result.previous = swap.previous
            result.removedStaging = swap.removed
            result.keptFromInterruptedSwap = swap.kept
            result.bytesWritten = writer.bytesFetched + writer.bytesReused
        }
        result.files = files
        result.directories = directoryCount
        result.bytesFetched = writer.bytesFetched
        result.bytesReused = writer.bytesReused
        result.durationSeconds = Date().timeIntervalSince(started)
        result.protectedKept = protectedKept
        result.protectedFromSnapshot = protectedFromSnapshot
        result.warnings = metadata.warnings
        // In place, the target's own leftovers are handled; a staged restore's beside it are not.
        if result.mode.hasPrefix("in-place") { result.warnings += stagingLeftoverNotices() }
        return result
    }

    static func stamp(_ date: Date) -> String {
        Timestamp.format(date).prefix(19).replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "-", with: "") + "Z"
    }

    /// Finds a path inside the snapshot, only through directory entries (never through a symlink).
    private func locate(_ subpath: String, from root: BlobID, snapshot: String) throws -> (Node, [[UInt8]]) {
        var tree = try repository.loadTree(root, codec: codec)
        let parts = subpath.split(separator: "/").filter { $0 != "." }
        var found: Node?
        var names: [[UInt8]] = []
        for (i, part) in parts.enumerated() {
            // A name as typed, or else with `\xHH` escapes (as `ls` prints them) decoded.
            guard part != "..", let node = tree.node(named: Array(part.utf8)) ?? tree.node(named: FileName.unescape(String(part))) else {
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
            names.append(node.name)
        }
        guard let node = found else { throw VaultError(.usage, "empty --path") }
        return (node, names)
    }

    /// Restores one file into the staged directory `dirFD` (index `directory` of `stagedDirectories`).
    /// `relative` is its path below the restored unit, as bytes.
    func restoreFile(_ node: Node, in dirFD: Int32, directory: Int, relative: [UInt8]) throws {
        files += 1
        let name = node.name
        let relativePath = FileName.display(relative)
        let snapshotPath = [unitPath, relativePath].filter { !$0.isEmpty }.joined(separator: "/")
        if !options.protect.isEmpty, protect.matches(relativePath: snapshotPath, name: Path.base(snapshotPath)) {
            let live = relative.isEmpty ? Array(destination.utf8) : Array(destination.utf8) + [47] + relative
            if !options.overwriteProtected, try copyLive(node, live, into: dirFD, name: name, relativePath: relativePath) {
                protectedKept.append(snapshotPath)
                return
            }
            protectedFromSnapshot.append(snapshotPath)
        }
        try writeFile(node, in: dirFD, directory: directory, relative: relative)
    }

    /// Writes one file's content from the repository (reusing the live file's matching chunks in a
    /// delta restore) and queues its chunks; metadata follows when the last one is written.
    func writeFile(_ node: Node, in dirFD: Int32, directory: Int, relative: [UInt8],
                   comparison: LiveComparison? = nil) throws {
        let name = node.name
        let relativePath = FileName.display(relative)
        let linkKey = "\(node.device):\(node.inode)"
        if node.links > 1, node.inode != 0, let first = hardlinks[linkKey] {
            if try link(node, to: first, in: dirFD) { return }
        }
        let fd = try Posix.openAt(dirFD, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600, display: relativePath)
        if node.links > 1, node.inode != 0, hardlinks[linkKey] == nil {
            hardlinks[linkKey] = HardlinkSource(directory: directory, name: name, chunks: node.chunks, size: node.size)
        }

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
        if let previous = previousRoot, node.size > 0 {
            // The live file at the same place; a path past PATH_MAX just fails to open (nothing reused).
            // Only a regular file is read: non-blocking (a fifo cannot hang the restore), then fstat.
            previousFD = try LiveFile.openRegular(AT_FDCWD, Array(previous.utf8) + (relative.isEmpty ? [] : [47] + relative),
                                                  display: Path.join(previous, relativePath))
        }
        // What the in-place plan found chunk by chunk holds while the live file is as it saw it.
        var known = comparison
        var live = stat()
        if let c = comparison, previousFD < 0 || fstat(previousFD, &live) != 0 || LiveIdentity(live) != c.identity
            || c.matches.count != node.chunks.count {
            known = nil
        }
        var pieces: [Piece] = []
        pieces.reserveCapacity(node.chunks.count)
        for (i, (id, location)) in zip(node.chunks, locations).enumerated() {
            let state = known.map { $0.matches[i] ? Piece.Live.matches : .differs } ?? .unknown
            pieces.append(Piece(offset: Int(offsets[i]), id: id, location: location, live: state))
        }
        let groups = PackRangePlanner.plan(pieces, span: PackRangePlanner.span(for: repository))
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
    private func copyLive(_ node: Node, _ livePath: [UInt8], into dirFD: Int32, name: [UInt8], relativePath: String) throws -> Bool {
        let live = FileName.display(livePath)
        let opened = try LiveFile.openRegular(AT_FDCWD, livePath, display: live)
        if opened < 0 { return false }
        let src = FileDescriptor(adopting: opened)
        let st = try src.status(path: live)
        guard try choosesLive(node, liveFD: src.rawValue, path: relativePath) else { return false }
        let dst = try FileDescriptor.open(at: dirFD, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600,
                                          display: relativePath)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset = 0
        while true {
            let n = try buffer.withUnsafeMutableBytes { try Posix.pread(src.rawValue, $0, offset: offset, path: live) }
            if n == 0 { break }
            try buffer.withUnsafeBytes {
                try Posix.pwriteAll(dst.rawValue, UnsafeRawBufferPointer(rebasing: $0[0..<n]), offset: offset,
                                    path: relativePath)
            }
            offset += n
        }
        let owned = !applyOwner || metadata.setOwner(fd: dst.rawValue, uid: st.st_uid, gid: st.st_gid, path: relativePath)
        try dst.setMode(MetadataApplier.mode(st.st_mode & 0o7777, ownerSet: owned), path: relativePath)
        try dst.setTimes(access: st.st_atim, modification: st.st_mtim, path: relativePath)
        try dst.close(path: relativePath)
        try src.close(path: live)
        return true
    }
}
