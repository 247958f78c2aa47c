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
        let steps = InPlaceSteps(
            target: targetFD, work: workFD, display: destination, applyOwner: applyOwner,
            metadata: metadata)
        if Posix.lstatAt(workFD, Self.journalName) == nil {
            if Posix.lstatAt(workFD, Self.doneName) != nil {
                // Every step was carried out; only the clean-up (and the root's mtime) is left. It is
                // finished for `--rollback` too, which then says why it undid nothing: the restore
                // had completed, and a work directory left would block the next restore.
                let journal = InPlaceJournal.decode(try Posix.readFile(work + "/done"))
                let previous = try finishJournal(
                    targetFD: targetFD, workFD: workFD, stamp: stamp,
                    root: journal?.rootAttributes)
                if rollback {
                    throw completedBeforeRollback(journal?.snapshotID, previous: previous ?? newestKeptBeside())
                }
                return Recovery(previous: previous)
            }
            // Stopped before its journal was durable: nothing live was touched, and what it built
            // (`new`, `journal.tmp`) is only its own work, cleared for this run or a rollback alike.
            let unfinished = [InPlaceSteps.newName, Array("journal.tmp".utf8), Self.beforeName]
                .contains { Posix.lstatAt(workFD, $0) != nil }
            if rollback && !unfinished { throw nothingToRollBack() }
            discardUnfinished(workFD: workFD, targetFD: targetFD)
            let previous =
                rollback
                ? nil
                : try finishJournal(targetFD: targetFD, workFD: workFD, stamp: stamp, root: nil)
            return Recovery(previous: previous, clearedUnfinished: unfinished ? work + "/new" : nil)
        }
        let bytes = try Posix.readFile(work + "/journal")
        guard let journal = InPlaceJournal.decode(bytes) else {
            throw VaultError(
                .corrupt, "the journal of an interrupted restore, \(work)/journal, is damaged",
                hint:
                    "nothing was changed by this run; look at \(work) (new: restored entries, rollback: the previous ones) and move them by hand"
            )
        }
        if rollback {
            try rollBackJournal(journal, named: Self.journalName, targetFD: targetFD, workFD: workFD)
            return Recovery(snapshotID: journal.snapshotID, rolledBack: true)
        }
        var reached = 0
        do {
            for (i, step) in journal.steps.enumerated() {
                reached = i
                try checkCancelledAfterJournal()
                try steps.forward(step)
            }
            reached = journal.steps.count
            return Recovery(
                snapshotID: journal.snapshotID,
                previous: try finishJournal(
                    targetFD: targetFD, workFD: workFD, stamp: stamp,
                    root: journal.rootAttributes))
        } catch {
            throw failedAfterJournal(error, journal, at: reached, targetFD: targetFD, workFD: workFD)
        }
    }

    /// SIGTERM between two steps of a journal: it stays, so the next run completes the restore
    /// and `--rollback` undoes it (before the journal, the caller clears what was built instead).
    func checkCancelledAfterJournal() throws {
        guard cancellation.isCancelled else { return }
        throw VaultError(
            .interrupted, "the restore into \(destination) was interrupted after its journal was written",
            hint: "run the same restore again to complete it, "
                + "or add --rollback to return to the tree before it")
    }

    /// `--rollback` found a restore that had carried out every step (killed in its clean-up).
    private func completedBeforeRollback(_ snapshot: String?, previous: String?) -> VaultError {
        let which = snapshot.map { "snapshot \($0.prefix(8))" } ?? "a snapshot"
        return VaultError(
            .usage,
            "the restore of \(which) into \(destination) had completed before it was stopped "
                + "(every step was carried out), so there is nothing to roll back; its clean-up is now finished",
            hint: (previous.map {
                "the previous content is kept at \($0): move its entries back by hand to "
                    + "return to it, or "
            } ?? "to return to the tree before it, ")
                + "restore the snapshot the node had before ('chainvault snapshots' lists them)")
    }

    /// The newest marked `<target>.pre-restore-*` beside the target: the killed run may have kept
    /// its rollback directory there before it was stopped (its time in the name sorts).
    private func newestKeptBeside() -> String? {
        let parent = Path.parent(destination)
        let prefix = Array((DerivedName.stem(Path.base(destination)) + ".pre-restore-").utf8)
        let fd = Posix.tryOpenAt(AT_FDCWD, Array(parent.utf8), O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { return nil }
        defer { Posix.close(fd) }
        let kept = ((try? DirectoryListing.entries(of: fd, path: parent)) ?? [])
            .filter { $0.starts(with: prefix) && WorkingNames.ours($0, in: fd) != nil }
        return kept.max { $0.lexicographicallyPrecedes($1) }.map { Path.join(parent, FileName.display($0)) }
    }

    private func nothingToRollBack() -> VaultError {
        let beside = stagingLeftoverNotices()
        return VaultError(
            .usage, "\(destination) has no interrupted restore to roll back",
            hint:
                "--rollback undoes a restore that was interrupted; a finished one kept the previous content (reported as 'previous')"
                + (beside.isEmpty ? "" : "; " + beside.joined(separator: "; ")))
    }
}
