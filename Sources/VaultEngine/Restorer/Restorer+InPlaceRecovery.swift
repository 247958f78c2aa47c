import Foundation
import Glibc
import VaultCore

/// What a crash left of an in-place restore, found at the start of the next restore into the same
/// target: no journal, nothing live was touched (the unfinished `new` goes); a journal, every step
/// is carried out (rolled forward) or, with `--rollback`, undone in reverse order.
extension Restorer {
    struct Recovery {
        /// The snapshot whose journal was completed or rolled back, if any.
        var snapshotID: String?
        var rolledBack = false
        var previous: String?
        /// The unfinished build of a restore stopped before its journal was durable, now removed.
        var clearedUnfinished: String?
    }

    func recoverInPlace(stamp: String, rollback: Bool) throws -> Recovery {
        let targetFD = try Posix.open(destination, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        defer { Posix.close(targetFD) }
        let workFD = Posix.tryOpenAt(targetFD, Self.workName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        if workFD < 0 {
            if rollback { throw nothingToRollBack() }
            return Recovery()
        }
        defer { Posix.close(workFD) }
        let work = destination + "/.chainvault-restore"
        let steps = InPlaceSteps(target: targetFD, work: workFD, display: destination, applyOwner: applyOwner,
                                 metadata: metadata)
        if Posix.lstatAt(workFD, Self.journalName) == nil {
            if Posix.lstatAt(workFD, Self.doneName) != nil {
                if rollback { throw nothingToRollBack() }
                // Every step was carried out; only the clean-up (and the root's mtime) is left.
                let journal = InPlaceJournal.decode(try Posix.readFile(work + "/done"))
                return Recovery(previous: try finishJournal(targetFD: targetFD, workFD: workFD, stamp: stamp,
                                                            root: journal?.rootAttributes))
            }
            // Stopped before its journal was durable: nothing live was touched, and what it built
            // (`new`, `journal.tmp`) is only its own work, cleared for this run or a rollback alike.
            let unfinished = [InPlaceSteps.newName, Array("journal.tmp".utf8), Self.beforeName]
                .contains { Posix.lstatAt(workFD, $0) != nil }
            if rollback && !unfinished { throw nothingToRollBack() }
            discardUnfinished(workFD: workFD, targetFD: targetFD)
            let previous = rollback ? nil
                : try finishJournal(targetFD: targetFD, workFD: workFD, stamp: stamp, root: nil)
            return Recovery(previous: previous, clearedUnfinished: unfinished ? work + "/new" : nil)
        }
        let bytes = try Posix.readFile(work + "/journal")
        guard let journal = InPlaceJournal.decode(bytes) else {
            throw VaultError(.corrupt, "the journal of an interrupted restore, \(work)/journal, is damaged",
                             hint: "nothing was changed by this run; look at \(work) (new: restored entries, rollback: the previous ones) and move them by hand")
        }
        if rollback {
            for step in journal.steps.reversed() { try steps.backward(step) }
            // Putting entries back changed their parents' mtimes after those were set back: every
            // directory's old metadata once more (the target's own last, below, once the work
            // directory inside it is gone). Idempotent, so before the journal goes.
            for step in journal.steps where step.kind == .dir && !step.path.isEmpty { try steps.backward(step) }
            try Posix.syncFileSystem(targetFD, path: destination)
            _ = FileName.withCString(Self.journalName) { unlinkat(workFD, $0, 0) }
            try Posix.fsync(workFD, path: work)
            // Every entry moved aside is back; what is left in `rollback` are the directories made
            // to hold them, and `new` holds only what this restore wrote.
            try? Posix.removeTree(work + "/new")
            // Removed only if nothing but directories is left: anything else is previous content.
            let left = FileManager.default.enumerator(atPath: work + "/rollback")?.allObjects as? [String] ?? []
            if left.allSatisfy({ (try? Posix.lstat(work + "/rollback/" + $0)).flatMap { $0 }.map { ($0.st_mode & S_IFMT) == S_IFDIR } == true }) {
                try? Posix.removeTree(work + "/rollback")
            }
            _ = FileName.withCString(Self.beforeName) { unlinkat(workFD, $0, 0) }
            if FileName.withCString(Self.workName, { unlinkat(targetFD, $0, AT_REMOVEDIR) }) == 0,
               let root = journal.steps.last(where: { $0.kind == .dir && $0.path.isEmpty })?.old {
                try setRootAttributes(root, targetFD: targetFD)
            }
            try Posix.fsync(targetFD, path: destination)
            return Recovery(snapshotID: journal.snapshotID, rolledBack: true)
        }
        for step in journal.steps {
            try checkCancelledAfterJournal()
            try steps.forward(step)
        }
        return Recovery(snapshotID: journal.snapshotID,
                        previous: try finishJournal(targetFD: targetFD, workFD: workFD, stamp: stamp,
                                                    root: journal.rootAttributes))
    }

    /// SIGTERM between two steps of a journal: it stays, so the next run completes the restore
    /// and `--rollback` undoes it (before the journal, the caller clears what was built instead).
    func checkCancelledAfterJournal() throws {
        guard cancellation.isCancelled else { return }
        throw VaultError(.interrupted, "the restore into \(destination) was interrupted after its journal was written",
                         hint: "run the same restore again to complete it, "
                             + "or add --rollback to return to the tree before it")
    }

    private func nothingToRollBack() -> VaultError {
        let beside = stagingLeftoverNotices()
        return VaultError(.usage, "\(destination) has no interrupted restore to roll back",
                          hint: "--rollback undoes a restore that was interrupted; a finished one kept the previous content (reported as 'previous')"
                              + (beside.isEmpty ? "" : "; " + beside.joined(separator: "; ")))
    }
}
