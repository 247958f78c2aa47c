import Glibc
import VaultCore
import VaultRepository

/// The staged restore: a complete copy beside the destination, synced, then swapped in with one
/// `renameat2(RENAME_EXCHANGE)`; the previous content is kept as `<target>.pre-restore-<time>`,
/// marked (Restorer+Previous).
/// Every staging directory holds the unfinished marker from before its first byte until it is
/// synced; a single file (or symlink, fifo) is staged as `entry` inside such a directory.
extension Restorer {
    /// Inside a staging directory until it is complete; a leftover staging directory with it was
    /// never swapped in and may be deleted. One without it is a previous tree that a crash left
    /// between the swap and its rename (kept, never deleted), unless its swap note says its
    /// inode is still the staged copy's (Restorer+SwapNote): then it was never swapped in.
    static let incompleteMarker = ".chainvault-incomplete"
    /// Inside the staging directory of a single entry (named `entry`): whatever `entry` is when the
    /// marker above is gone, it is what the swap put there (the previous content).
    static let singleMarker = ".chainvault-single"
    static let entryName = "entry"

    struct Swap {
        var previous: String?
        var removed: [String]
        var kept: [String]
        /// Left as it was (equal to the snapshot's): how many files were hashed to tell.
        var unchangedHashed: UInt64?
    }

    func restoreStaged(
        _ unit: Node, existing: Bool, replaceable: Bool, delta: Bool, leaveUnchanged: Bool = false,
        stamp: String
    ) throws -> Swap {
        let parent = Path.parent(destination)
        try Posix.mkdirs(parent)
        try lockStagingParent(targetLocks)
        // A single file that already has the snapshot's content stays (Restorer+Unchanged); what an
        // interrupted restore of it left beside it is still cleared or kept.
        if leaveUnchanged, let hashed = try leaveUnchangedSingleFile(unit) {
            let (removed, recovered) = try handleLeftoverStaging(for: destination)
            return Swap(previous: nil, removed: removed, kept: recovered, unchangedHashed: hashed)
        }
        if unit.kind == .file {
            // A single file's copy is staged whole beside it (a delta reuses bytes, not blocks):
            // too little room fails here, before anything is written, as in place.
            let parentFD = try Posix.open(parent, O_RDONLY | O_DIRECTORY)
            defer { Posix.close(parentFD) }
            let zeros = min(unit.zeroRuns.reduce(0) { $0 &+ $1.length }, unit.size)
            try checkSpace(parentFD, needed: unit.size - zeros + (64 << 10), for: "to stage its copy")
        }
        let (removed, recovered) = try handleLeftoverStaging(for: destination)
        // Beside the destination under a name that fits NAME_MAX whatever the destination's is.
        let suffix = stamp + "-" + Hex.encode(SecureRandom.bytes(3))
        let staging = DerivedName.sibling(of: destination) + Self.stagingInfix + suffix
        let note = swapNote(stagingSuffix: suffix)
        let single = unit.kind != .directory
        let staged = single ? staging + "/" + Self.entryName : staging
        previousRoot = delta && existing ? destination : nil
        var stagedRoot: DirectoryCursor?
        do {
            progress?.setPhase("fetching")
            stagedRoot = try stage(unit, at: staging, previousRoot: previousRoot)
            try writer.finish()
            Failpoint.stop("restore-staged-written")
            // Everything staged is on disk before its marker goes and the swap makes it live. A sync
            // that fails leaves the staging directory marked unfinished: removed here, or else by
            // the next run, never kept as if it were the previous content.
            let syncFD = try Posix.open(parent, O_RDONLY | O_DIRECTORY)
            defer { Posix.close(syncFD) }
            progress?.setPhase("syncing")
            try Posix.syncFileSystem(syncFD, path: staging)
            // Before the marker goes: once it is gone, only the noted inode tells a later run
            // whether the exchange below happened (Restorer+SwapNote).
            try writeSwapNote(note, staged: staged)
            if let stagedRoot {
                // The root's own metadata last: removing the marker changes its mtime. Synced
                // before the swap, so a power cut cannot leave the marker inside the live tree.
                try Posix.unlinkAt(
                    stagedRoot.rootFD, Array(Self.incompleteMarker.utf8), directory: false,
                    display: Self.incompleteMarker)
                try Failpoint.fail("restore-last-metadata", staging)
                if !single { try applyDirectoryMetadata(unit, fd: stagedRoot.rootFD, path: ".") }
                try Posix.fsync(stagedRoot.rootFD, path: staging)
            }
        } catch {
            // Nothing of it was swapped in: whether still marked or not, it is this run's copy.
            stagedRoot = nil
            stagingRoot = -1
            _ = try? writer.finish()
            try? Posix.removeTree(staging)
            removeSwapNote(note, staging: staging, parent: parent)
            throw error
        }
        stagedRoot = nil
        stagingRoot = -1
        Failpoint.stop("restore-staged-swap")

        progress?.setPhase("swapping")
        var previous: String?
        if existing && replaceable {
            // One atomic step: the live name points at the old tree or the new, never at a mix.
            do { try Posix.exchange(staged, destination) } catch {
                try? Posix.removeTree(staging)
                removeSwapNote(note, staging: staging, parent: parent)
                throw error
            }
            do {
                // The swap is durable before the old tree is marked: a power cut must not leave the
                // marker inside a live tree whose swap was lost (PowerLossTests).
                try Posix.fsyncDirectory(parent)
                Failpoint.stop("restore-staged-swapped")
                let name = DerivedName.sibling(of: destination) + ".pre-restore-" + stamp
                let oldIsDirectory = (try Posix.lstat(staged)).map { ($0.st_mode & S_IFMT) == S_IFDIR } ?? false
                previous =
                    single
                    ? try keepPreviousEntry(staging: staging, base: Path.base(destination), as: name)
                    : oldIsDirectory
                        ? try keepPrevious(staged, as: name)
                        : try keepPreviousNonDirectory(staged, base: Path.base(destination), as: name)
            } catch {
                // A single entry's old copy is inside its staging directory (as `entry` or its own name).
                let at = single ? staging : staged
                throw VaultError(
                    .storageFailure,
                    "restored \(destination), but the previous content could not be renamed and is at \(at)",
                    cause: error as? VaultError, hint: "rename \(at) yourself; chainvault will not delete it")
            }
        } else {
            if existing { _ = rmdir(destination) }
            try Posix.rename(staged, destination)
        }
        Failpoint.stop("restore-staged-kept")
        if single && previous == nil {
            _ = try Posix.unlink(staging + "/" + Self.singleMarker)
            _ = rmdir(staging)
        }
        try Posix.fsyncDirectory(parent)
        // Only now that the staging name is durably gone: with the note lost first, a power cut
        // could leave an unswapped copy that looks like the previous content.
        _ = try Posix.unlink(note)
        return Swap(previous: previous, removed: removed, kept: recovered)
    }

    /// Leftovers of interrupted staged restores beside the destination: marked (or still empty)
    /// ones, and unmarked ones whose swap note shows they were not swapped in, are removed; a single entry's staging keeps its `entry` (the previous content after a
    /// swap) as `.pre-restore-`; an unmarked tree is a previous tree and is kept.
    private func handleLeftoverStaging(for destination: String) throws -> ([String], [String]) {
        // The same stem as the staging name: a long destination's leftovers are found too.
        let prefix = DerivedName.stem(Path.base(destination)) + Self.stagingInfix
        let parent = Path.parent(destination)
        var removed: [String] = [], kept: [String] = []
        for name in try DirectoryListing.names(parent) where name.hasPrefix(prefix) {
            let path = parent + "/" + name
            let suffix = String(name.dropFirst(prefix.count))
            let note = swapNote(stagingSuffix: suffix)
            let keptName = DerivedName.sibling(of: destination) + ".pre-restore-" + String(suffix.prefix(16))
            switch try stagingState(path, note: note) {
            case .unfinished, .unswapped:
                // Never live: a copy that was unfinished, or complete but killed before its swap.
                try Posix.removeTree(path)
                removed.append(path)
            case .previous:
                if (try Posix.lstat(path)).map({ ($0.st_mode & S_IFMT) != S_IFDIR }) == true {
                    // Only a swap of a tree onto a target that was a file leaves a staging name that
                    // is no directory: it is that old file.
                    kept.append(try keepPreviousNonDirectory(path, base: Path.base(destination), as: keptName))
                } else if try Posix.lstat(path + "/" + Self.singleMarker) != nil {
                    if try stagedObject(path) != nil {
                        kept.append(try keepPreviousEntry(staging: path, base: Path.base(destination), as: keptName))
                    } else {
                        _ = try Posix.unlink(path + "/" + Self.singleMarker)
                        _ = rmdir(path)
                    }
                } else {
                    kept.append(try keepPrevious(path, as: keptName))
                }
            }
            if try Posix.lstat(note) != nil {
                try Posix.fsyncDirectory(parent)
                _ = try Posix.unlink(note)
            }
        }
        try removeOrphanSwapNotes(for: destination)
        return (removed, kept + (try finishKeptEntries()))
    }

    /// After a failed run removed its staging copy: the removal is made durable before the note
    /// goes (best effort; a note left behind is removed by the next run). A copy that could not
    /// be removed keeps its note, so the next run still knows it was never swapped in.
    private func removeSwapNote(_ note: String, staging: String, parent: String) {
        guard case .some(.none) = try? Posix.lstat(staging), (try? Posix.fsyncDirectory(parent)) != nil else { return }
        _ = try? Posix.unlink(note)
    }

    /// Renames without ever replacing: `name`, then `name-2`, `name-3`…; returns the name used.
    func keep(_ path: String, as name: String) throws -> String {
        var candidate = name
        for n in 2...1000 {
            do {
                try Posix.renameNoReplace(path, candidate)
                return candidate
            } catch let e as VaultError where e.code == .alreadyExists || (e.cause as? Errno) == .directoryNotEmpty {
                candidate = name + "-\(n)"
            }
        }
        throw VaultError(.storageFailure, "no free name to keep \(path) as \(name)")
    }
}
