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
    /// Protected files whose snapshot copy the chooser took because its state is higher.
    var protectedAdvanced: [String] = []
    /// Delta restores: the live tree whose bytes may be reused.
    var previousRoot: String?
    /// The staging root's descriptor while staging (owned by the staging cursor), else -1.
    var stagingRoot: Int32 = -1
    let metadata = MetadataApplier()
    /// Held for the whole run (`Restorer+Lock.swift`).
    let targetLocks = TargetLocks()

    public init(
        repository: Repository, options: RestoreOptions, progress: JobProgress? = nil,
        cancellation: Cancellation = Cancellation()
    ) {
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
                throw VaultError(
                    .usage,
                    "path \(sub) of snapshot \(record.shortID) has a name that is not valid UTF-8, which --path cannot restore to",
                    hint:
                        "restore the nearest directory above it whose path is UTF-8 (or the whole snapshot): names inside are restored as their exact bytes"
                )
            }
            destination = Path.join(destination, unitPath)
        } else if let root = record.snapshot.root {
            unit.mode = root.mode; unit.uid = root.uid; unit.gid = root.gid; unit.mtimeNanos = root.mtimeNanos
            guard let attributes = root.extendedAttributes() else {
                throw VaultError(
                    .corrupt,
                    "snapshot \(record.shortID) records extended attributes of its root beyond Linux's limits",
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
        writer = FileRestorer(
            repository: repository, workers: max(options.workers, repository.preferredConcurrency),
            applyOwner: applyOwner, metadata: metadata, progress: progress,
            cancellation: cancellation)
        defer { _ = try? writer.finish() }
        // Before the recovery step: another run's live work must not look interrupted to this one.
        defer { targetLocks.unlockAll() }
        try lockTarget(targetLocks, targetDirectory: targetDirectory)
        if options.rollback, let undone = try rollBackStagedSwap() { return swapRollbackResult(record.id, undone) }
        var recovery = Recovery()
        if destinationIsDirectory {
            recovery = try recoverInPlace(stamp: stamp, rollback: options.rollback)
        } else if options.rollback {
            throw VaultError(.usage, "\(destination) has no interrupted restore to roll back")
        }
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
            throw VaultError(
                .targetNotEmpty, "restore target \(destination) exists and is not empty",
                hint: "restore into an empty or new directory, or ask for mode \"delta\" (in place) or \"force\"")
        }
        if destinationIsDirectory && unit.kind == .directory && (nonEmpty || mountPoint)
            && (!options.force || mountPoint)
        {
            result.removedStaging = try removeNeverSwappedStaging()
            try removeOrphanSwapNotes(for: destination)
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
                throw VaultError(
                    .targetNotEmpty, "restore target \(destination) exists and is not empty",
                    hint:
                        "restore into an empty or new directory, or add --delta (reuse what is there) or --force; either way the current content is kept as \(Path.base(destination)).pre-restore-<time>"
                )
            }
            let swap = try restoreStaged(
                unit, existing: existing != nil, replaceable: !(destinationIsDirectory && !nonEmpty),
                delta: options.delta || (entryOntoEntry && !options.force),
                leaveUnchanged: entryOntoEntry, stamp: stamp)
            result.previous = swap.previous
            result.removedStaging = swap.removed
            result.keptFromInterruptedSwap = swap.kept
            result.bytesWritten = writer.bytesFetched + writer.bytesReused
            if let hashed = swap.unchangedHashed {
                // Already the snapshot's: same inode, nothing staged or kept (Restorer+Unchanged).
                result.mode = "in-place"
                result.filesUnchanged = 1
                result.filesHashed = hashed
            }
        }
        result.files = files
        result.directories = directoryCount
        result.bytesFetched = writer.bytesFetched
        result.bytesReused = writer.bytesReused
        result.durationSeconds = Date().timeIntervalSince(started)
        result.protectedKept = protectedKept
        result.protectedFromSnapshot = protectedFromSnapshot
        result.protectedAdvanced = protectedAdvanced
        result.warnings = metadata.warnings
        // In place, the target's own leftovers are handled; a staged restore's beside it are not.
        if result.mode.hasPrefix("in-place") { result.warnings += stagingLeftoverNotices() }
        return result
    }

    static func stamp(_ date: Date) -> String {
        Timestamp.format(date).prefix(19).replacingOccurrences(of: ":", with: "").replacingOccurrences(
            of: "-", with: "") + "Z"
    }

    /// Finds a path inside the snapshot, only through directory entries (never through a symlink).
    private func locate(_ subpath: String, from root: BlobID, snapshot: String) throws -> (Node, [[UInt8]]) {
        let parts = subpath.split(separator: "/").filter { $0 != "." }
        // A name as typed, or else with `\xHH` escapes (as `ls` prints them) decoded.
        let found = try TreeWalker(repository: repository, codec: codec)
            .follow(parts, from: try repository.loadTree(root, codec: codec)) { tree, part in
                part == ".."
                    ? nil
                    : tree.node(named: Array(part.utf8)) ?? tree.node(named: FileName.unescape(String(part)))
            }
        if found.count < parts.count {
            if let last = found.last, last.kind != .directory || last.subtree == nil {
                let above = parts[0..<found.count].joined(separator: "/")
                throw VaultError(.unknownSnapshot, "\(above) in snapshot \(snapshot) is not a directory")
            }
            throw VaultError(
                .unknownSnapshot, "path \(subpath) is not in snapshot \(snapshot)",
                hint: "list its content with 'chainvault ls \(snapshot)'")
        }
        guard let node = found.last else { throw VaultError(.usage, "empty --path") }
        return (node, found.map(\.name))
    }

    /// Restores one file into the staged directory `dirFD` (index `directory` of `stagedDirectories`).
    /// `relative` is its path below the restored unit, as bytes.
    func restoreFile(_ node: Node, in dirFD: Int32, directory: Int, relative: [UInt8]) throws {
        files += 1
        let relativePath = FileName.display(relative)
        let snapshotPath = [unitPath, relativePath].filter { !$0.isEmpty }.joined(separator: "/")
        if !options.protect.isEmpty, protect.matches(relativePath: snapshotPath, name: Path.base(snapshotPath)) {
            let live = relative.isEmpty ? Array(destination.utf8) : Array(destination.utf8) + [47] + relative
            if try keepsLiveCopy(node, live, into: dirFD, relativePath: relativePath, snapshotPath: snapshotPath) {
                return
            }
        }
        try writeFile(node, in: dirFD, directory: directory, relative: relative)
    }

    /// Writes one file's content from the repository (reusing the live file's matching chunks in a
    /// delta restore) and queues its chunks; metadata follows when the last one is written.
    func writeFile(
        _ node: Node, in dirFD: Int32, directory: Int, relative: [UInt8],
        comparison: LiveComparison? = nil
    ) throws {
        let name = node.name
        let relativePath = FileName.display(relative)
        let linkKey = "\(node.device):\(node.inode)"
        if node.links > 1, node.inode != 0, let first = hardlinks[linkKey] {
            if try link(node, to: first, in: dirFD) { return }
        }
        let fd = try Posix.openAt(
            dirFD, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600, display: relativePath)
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
                throw VaultError(
                    .missing, "chunk \(id.shortHex) of \(relativePath) is not in the repository",
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
            let offsets = node.chunkOffsets(rawLengths: lengths)
        else {
            Posix.close(fd)
            throw VaultError(
                .corrupt,
                total == node.size
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
            previousFD = try LiveFile.openRegular(
                AT_FDCWD, Array(previous.utf8) + (relative.isEmpty ? [] : [47] + relative),
                display: Path.join(previous, relativePath))
        }
        // What the in-place plan found chunk by chunk holds while the live file is as it saw it.
        var known = comparison
        var live = stat()
        if let c = comparison,
            previousFD < 0 || fstat(previousFD, &live) != 0 || LiveIdentity(live) != c.identity
                || c.matches.count != node.chunks.count
        {
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
}
