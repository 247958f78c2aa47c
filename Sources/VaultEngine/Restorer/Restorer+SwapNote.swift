import Glibc
import VaultCore

/// The swap note: which object a staged swap put under its staging name, so that a run killed
/// after the unfinished marker went can tell whether the exchange happened (FORMAT.md §10,
/// "Restore"). `renameat2(RENAME_EXCHANGE)` swaps which name points at which inode and inodes
/// survive renames: while the staging name (a single entry's `entry`) still points at the noted
/// inode, the exchange was not done and the staging copy was never live.
extension Restorer {
    static let stagingInfix = ".chainvault-staging-"
    /// Shorter than the staging infix, so a note's name fits NAME_MAX whenever its staging's does.
    static let swapNoteInfix = ".chainvault-swap-"

    /// What a leftover staging directory holds.
    enum StagingState {
        /// Still marked unfinished (or empty): never live, may be deleted.
        case unfinished
        /// Complete but not swapped in (its object is the noted one): never live, may be deleted.
        case unswapped
        /// What the swap put there: the previous content, to be kept.
        case previous
    }

    /// The note of the staging directory `<stem>.chainvault-staging-<suffix>` beside the
    /// destination: `<stem>.chainvault-swap-<suffix>`.
    func swapNote(stagingSuffix suffix: String) -> String {
        DerivedName.sibling(of: destination) + Self.swapNoteInfix + suffix
    }

    /// Records the (device, inode) of `staged` in the note of `staging`, durably: the file is
    /// fsynced, then the parent, before the caller removes the unfinished marker.
    func writeSwapNote(_ note: String, staged: String) throws {
        guard let st = try Posix.lstat(staged) else {
            throw VaultError(.storageFailure, "the staged copy \(staged) vanished before its swap")
        }
        let fd = try Posix.open(note, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode: 0o600)
        defer { Posix.close(fd) }
        let text = "\(st.st_dev):\(st.st_ino)\n"
        try Array(text.utf8).withUnsafeBytes { try Posix.writeAll(fd, $0, path: note) }
        try Posix.fsync(fd, path: note)
        try Posix.fsyncDirectory(Path.parent(note))
    }

    /// The (device, inode) a note records; nil when there is none (or it is torn: a note is
    /// complete and synced before the marker goes, so a torn one belongs to a still-marked copy).
    static func readSwapNote(_ note: String) -> (dev: UInt64, ino: UInt64)? {
        guard let bytes = try? Posix.readFile(note),
            let text = String(bytes: bytes, encoding: .utf8), text.hasSuffix("\n")
        else { return nil }
        let parts = text.dropLast().split(separator: ":")
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return nil }
        return (dev, ino)
    }

    /// Whether a leftover staging directory holds an unfinished copy, a complete copy never
    /// swapped in, or the previous content.
    func stagingState(_ path: String, note: String) throws -> StagingState {
        let isDirectory = (try Posix.lstat(path)).map { ($0.st_mode & S_IFMT) == S_IFDIR } ?? false
        if try Posix.lstat(path + "/" + Self.incompleteMarker) != nil
            || (isDirectory && (try DirectoryListing.names(path)).isEmpty)
        {
            return .unfinished
        }
        if let noted = Self.readSwapNote(note), let object = try stagedObject(path),
            let st = try Posix.lstat(object), UInt64(st.st_dev) == noted.dev && UInt64(st.st_ino) == noted.ino
        {
            return .unswapped
        }
        return .previous
    }

    /// The object a leftover staging directory holds at `path`: the directory itself (or what a
    /// tree's swap onto a file left under the name), or a single entry's staging's one entry:
    /// `entry`, or the target's own name once `entry` was renamed to it before the directory got
    /// its `.pre-restore-` name. nil for a single entry's staging that holds none (its entry was
    /// renamed into place where there was nothing to swap with).
    func stagedObject(_ path: String) throws -> String? {
        guard try Posix.lstat(path + "/" + Self.singleMarker) != nil else { return path }
        for name in [Self.entryName, Path.base(destination)] where try Posix.lstat(path + "/" + name) != nil {
            return path + "/" + name
        }
        return nil
    }

    /// Removes swap notes beside `destination` whose staging directory is gone (the run that
    /// wrote one was killed after its staging name went and before the note did).
    func removeOrphanSwapNotes(for destination: String) throws {
        let prefix = DerivedName.stem(Path.base(destination)) + Self.swapNoteInfix
        let parent = Path.parent(destination)
        let sibling = DerivedName.sibling(of: destination)
        for name in try DirectoryListing.names(parent) where name.hasPrefix(prefix) {
            let suffix = String(name.dropFirst(prefix.count))
            if try Posix.lstat(sibling + Self.stagingInfix + suffix) == nil {
                _ = try Posix.unlink(Path.join(parent, name))
            }
        }
    }

    /// Staging copies beside the destination that were never swapped in (still marked unfinished,
    /// or complete with the note's inode still theirs): copies of a snapshot, never the node's, so
    /// an in-place restore removes them, with their notes, before it checks its free space (an
    /// outside tester found a `--force` killed in its fetch left a whole second tree beside the
    /// node that the next in-place run only named). The target is locked: no run of ours is
    /// writing them. A previous tree swapped out is only reported (`stagingLeftoverNotices`).
    func removeNeverSwappedStaging() throws -> [String] {
        let prefix = DerivedName.stem(Path.base(destination)) + Self.stagingInfix
        let parent = Path.parent(destination)
        var removed: [String] = []
        for name in try DirectoryListing.names(parent) where name.hasPrefix(prefix) {
            let path = Path.join(parent, name)
            let note = swapNote(stagingSuffix: String(name.dropFirst(prefix.count)))
            switch try stagingState(path, note: note) {
            case .unfinished, .unswapped:
                try Posix.removeTree(path)
                removed.append(path)
                if try Posix.lstat(note) != nil {
                    try Posix.fsyncDirectory(parent)
                    _ = try Posix.unlink(note)
                }
            case .previous:
                continue
            }
        }
        return removed
    }

    /// Staging leftovers beside the destination, for an in-place restore and `--rollback` to
    /// report: they handle only the target itself; a staged restore (`--force`) clears them.
    func stagingLeftoverNotices() -> [String] {
        let prefix = DerivedName.stem(Path.base(destination)) + Self.stagingInfix
        let parent = Path.parent(destination)
        var out: [String] = []
        for name in (try? DirectoryListing.names(parent)) ?? [] where name.hasPrefix(prefix) {
            let path = Path.join(parent, name)
            let note = swapNote(stagingSuffix: String(name.dropFirst(prefix.count)))
            switch (try? stagingState(path, note: note)) ?? .previous {
            case .unfinished, .unswapped:
                out.append(
                    "left \(path): a copy an interrupted staged restore of \(destination) made and never "
                        + "swapped in; remove it, or run the restore again with --force, which removes it")
            case .previous:
                out.append(
                    "left \(path): the previous content of \(destination), which an interrupted staged "
                        + "restore swapped out; check it and keep or remove it, or run the restore again with "
                        + "--force, which keeps it as \(Path.base(destination)).pre-restore-<time>")
            }
        }
        return out.sorted()
    }
}
