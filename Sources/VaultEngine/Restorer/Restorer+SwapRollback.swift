import Glibc
import VaultCore
import VaultRepository

/// `--rollback` of a staged swap (`--force`, or a single entry) that was killed: its staging
/// leftover beside the destination and the swap note decide what happened (FORMAT.md §10,
/// "Restore"). Before the exchange the staging copy was never live: it goes and the destination
/// is untouched. After it, the staging name holds the old content and the destination the noted
/// inode, the restored copy: one more `RENAME_EXCHANGE` puts the old content back, and the
/// restored copy is removed (it is the snapshot's, which the repository holds; keeping it would
/// only take the disk space a node server rarely has twice).
extension Restorer {
    /// What `--rollback` did with each staging leftover beside the destination, one sentence
    /// each; nil when there is none (then it looks for an interrupted in-place restore).
    func rollBackStagedSwap() throws -> [String]? {
        let prefix = DerivedName.stem(Path.base(destination)) + Self.stagingInfix
        let parent = Path.parent(destination)
        let leftovers = try DirectoryListing.names(parent).filter { $0.hasPrefix(prefix) }.sorted()
        if leftovers.isEmpty {
            // Only a note: killed after the old content got its `.pre-restore-` name, before the
            // note went (an outside tester: `--rollback` said "no interrupted restore" and left the
            // note). The swap had completed: say so, as for an in-place restore's `done` state.
            // The note's inode tells which: the destination is the staged copy (swapped in), or not
            // (a failed run removed its copy and was stopped before its note went).
            let notePrefix = DerivedName.stem(Path.base(destination)) + Self.swapNoteInfix
            let notes = try DirectoryListing.names(parent).filter { $0.hasPrefix(notePrefix) }
            if notes.isEmpty { return nil }
            let live = try Posix.lstat(destination)
            let swapped = notes.contains { name in
                guard let noted = Self.readSwapNote(Path.join(parent, name)), let live else { return false }
                return UInt64(live.st_dev) == noted.dev && UInt64(live.st_ino) == noted.ino
            }
            try removeOrphanSwapNotes(for: destination)
            if !swapped {
                throw VaultError(
                    .usage,
                    "the staged restore into \(destination) was never swapped in and had removed its copy "
                        + "before it was stopped: \(destination) is as it was before, there is nothing to roll back",
                    hint: "its leftover note is now removed; run the restore again to restore it")
            }
            throw VaultError(
                .usage,
                "the staged restore into \(destination) had completed before it was stopped (it was swapped in), "
                    + "so there is nothing to roll back; its clean-up is now finished",
                hint: "its previous content is kept beside it as \(Path.base(destination)).pre-restore-<time>: "
                    + "move that back by hand to return to it")
        }
        try lockStagingParent(targetLocks)
        var said: [String] = []
        for name in leftovers {
            let path = Path.join(parent, name)
            let note = swapNote(stagingSuffix: String(name.dropFirst(prefix.count)))
            switch try stagingState(path, note: note) {
            case .unfinished, .unswapped:
                try Posix.removeTree(path)
                said.append(
                    "removed \(path), the copy of an interrupted staged restore that was never swapped in: "
                        + "\(destination) is as it was before")
            case .previous:
                guard let done = try swapBack(path, note: note) else {
                    // No note (an older chainvault's leftover) or a destination that is not the
                    // noted copy: nothing tells which is old, so both stay for the operator.
                    said.append(
                        "left \(path): an interrupted staged restore of \(destination) left it and nothing "
                            + "shows whether it is the previous content; check both and move them by hand")
                    continue
                }
                said.append(done)
            }
            try Posix.fsyncDirectory(parent)
            if try Posix.lstat(note) != nil { _ = try Posix.unlink(note) }
        }
        try removeOrphanSwapNotes(for: destination)
        return said
    }

    func swapRollbackResult(_ snapshot: SnapshotID, _ said: [String]) -> RestoreResult {
        var result = RestoreResult(snapshotID: snapshot, destination: destination)
        result.swapRolledBack = said
        result.warnings = leftoverNotices()
        return result
    }

    /// Puts the old content held by the staging leftover `path` back in place; nil when the
    /// destination is not the copy the note records (then nothing is changed).
    private func swapBack(_ path: String, note: String) throws -> String? {
        guard let noted = Self.readSwapNote(note), let live = try Posix.lstat(destination),
            UInt64(live.st_dev) == noted.dev && UInt64(live.st_ino) == noted.ino
        else { return nil }
        let parent = Path.parent(destination)
        guard let old = try stagedObject(path) else {
            // A single entry renamed into place where there was none: the old state is no entry.
            try Posix.removeTree(destination)
            try Posix.removeTree(path)
            try Posix.fsyncDirectory(parent)
            return "removed \(destination), restored by an interrupted restore where there was nothing before: "
                + "it is as it was before"
        }
        // A tree's old root got the previous marker (its mtime kept) before its rename: it goes
        // before the old tree is live again, the mtime set back once more.
        try removePreviousMarker(old)
        try Posix.exchange(old, destination)
        try Posix.fsyncDirectory(parent)
        Failpoint.stop("restore-rollback-swapped")
        try Posix.removeTree(path)
        try Posix.fsyncDirectory(parent)
        return "rolled back the interrupted staged restore of \(destination): the previous content is in place "
            + "again, and the restored copy was removed (the repository still holds it)"
    }

    private func removePreviousMarker(_ directory: String) throws {
        let fd = Posix.tryOpenAt(AT_FDCWD, Array(directory.utf8), O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        if fd < 0 { return }
        defer { Posix.close(fd) }
        let marker = Array(WorkingNames.previousMarker.utf8)
        guard Posix.lstatAt(fd, marker) != nil else { return }
        var before = stat()
        guard fstat(fd, &before) == 0 else { throw Posix.error("stat", directory) }
        try Posix.unlinkAt(fd, marker, directory: false, display: directory + "/" + WorkingNames.previousMarker)
        try Posix.setTimes(fd, access: before.st_atim, modification: before.st_mtim, path: directory)
        try Posix.fsync(fd, path: directory)
    }
}
