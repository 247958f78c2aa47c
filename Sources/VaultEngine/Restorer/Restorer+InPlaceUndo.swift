import Foundation
import Glibc
import VaultCore

/// Undoing an in-place restore whose journal is written (FORMAT.md §10.1, "Recovery" and "A step
/// that fails"): for `--rollback`, and for a run whose step failed, which puts the old tree back
/// itself rather than leave a half-restored node behind an error that says nothing of it.
extension Restorer {
    /// Undoes every step of `journal` (stored in the work directory as `name`: `journal`, or `done`
    /// when a finished restore is undone) in reverse order, then clears the work directory; the
    /// target's own old attributes are set last, once the work directory inside it is gone.
    /// `failedAt` (the index of the step that failed, when a run undoes itself): the owner, mode and
    /// mtime steps after it were never carried out, and the one that failed set nothing it could
    /// not set, so they are not set back (as another user, setting them fails as the step did).
    func rollBackJournal(
        _ journal: InPlaceJournal, named name: [UInt8], targetFD: Int32, workFD: Int32,
        failedAt: Int? = nil
    ) throws {
        let work = destination + "/.chainvault-restore"
        let steps = InPlaceSteps(
            target: targetFD, work: workFD, display: destination, applyOwner: applyOwner,
            metadata: metadata)
        try Failpoint.fail("restore-in-place-undo", destination)
        for (i, step) in journal.steps.enumerated().reversed() {
            let attributes = step.kind == .meta || step.kind == .dir
            if let failedAt, attributes, i > failedAt { continue }
            if let failedAt, attributes, i == failedAt { try? steps.backward(step); continue }
            try steps.backward(step)
        }
        // Putting entries back changed their parents' mtimes after those were set back: every
        // directory's old metadata once more (the target's own last, below, once the work
        // directory inside it is gone). Idempotent, so before the journal goes. Undoing a failed
        // run, a directory that already has its old attributes is left as it is.
        for step in journal.steps where step.kind == .dir && !step.path.isEmpty {
            if failedAt != nil, let old = step.old, steps.attributes(step) == old { continue }
            try steps.backward(step)
        }
        try Posix.syncFileSystem(targetFD, path: destination)
        _ = FileName.withCString(name) { unlinkat(workFD, $0, 0) }
        try Posix.fsync(workFD, path: work)
        // Every entry moved aside is back; what is left in `rollback` are the directories made
        // to hold them, and `new` holds only what this restore wrote.
        try? Posix.removeTree(work + "/new")
        // Removed only if nothing but directories is left: anything else is previous content.
        let left = FileManager.default.enumerator(atPath: work + "/rollback")?.allObjects as? [String] ?? []
        if left.allSatisfy({
            (try? Posix.lstat(work + "/rollback/" + $0)).flatMap { $0 }
                .map { ($0.st_mode & S_IFMT) == S_IFDIR } == true
        }) {
            try? Posix.removeTree(work + "/rollback")
        }
        _ = FileName.withCString(Self.beforeName) { unlinkat(workFD, $0, 0) }
        if FileName.withCString(Self.workName, { unlinkat(targetFD, $0, AT_REMOVEDIR) }) == 0,
            let root = journal.steps.last(where: { $0.kind == .dir && $0.path.isEmpty })?.old
        {
            try setRootAttributes(root, targetFD: targetFD)
        }
        try Posix.fsync(targetFD, path: destination)
    }

    /// The error to report for `error`, thrown by a step of `journal` (this run's, or an interrupted
    /// one's being completed): the journal is undone first, and the message says whether the target
    /// is the old tree again or, if undoing failed too, partly restored (and what finishes it).
    /// SIGTERM between steps is undone likewise (a node must never be started on a mix of the two
    /// trees, and undoing is renames: it ends within seconds); only if undoing fails does the
    /// journal stay for the next run or `--rollback`, as the interruption's error says.
    func failedAfterJournal(
        _ error: Error, _ journal: InPlaceJournal, at failedAt: Int, targetFD: Int32,
        workFD: Int32
    ) -> Error {
        let failure = error as? VaultError ?? VaultError(.storageFailure, "\(error)")
        let interrupted = failure.code == .interrupted
        let work = destination + "/.chainvault-restore"
        if Posix.lstatAt(workFD, Self.doneName) != nil {
            // Past the last step: the tree is the snapshot's, only the clean-up is left.
            return VaultError(
                failure.code,
                "\(failure.message); every step was carried out: \(destination) holds "
                    + "snapshot \(journal.snapshotID.prefix(8)), but the clean-up of \(work) is unfinished",
                cause: failure.cause,
                hint: "run the same restore again to finish it (the previous content is kept)")
        }
        do {
            try rollBackJournal(
                journal, named: Self.journalName, targetFD: targetFD, workFD: workFD, failedAt: failedAt)
        } catch {
            if interrupted { return failure }
            let undo = (error as? VaultError)?.message ?? "\(error)"
            return VaultError(
                failure.code,
                "\(failure.message); undoing the restore failed too (\(undo)): "
                    + "\(destination) is partly restored, its journal is \(work)/journal",
                cause: failure.cause,
                hint: "do not start the node on it: fix the cause, then run the same restore again to "
                    + "complete it, or add --rollback to return to the tree before it")
        }
        if interrupted {
            return VaultError(
                .interrupted,
                "the restore into \(destination) was interrupted and undone: "
                    + "\(destination) is as it was before", hint: "run the same restore again")
        }
        return VaultError(
            failure.code,
            "\(failure.message); the restore was undone: \(destination) is as it "
                + "was before", cause: failure.cause,
            hint: (failure.hint.map { $0 + "; then" } ?? "fix the cause, then") + " run the restore again")
    }
}

extension Restorer {
    /// The journal of an in-place restore into `target` that is neither completed nor undone (its
    /// steps may be partly carried out), with the snapshot it restores; nil when there is none. The
    /// daemon asks after a failed restore: a node must not be started on such a tree.
    public static func pendingJournal(in target: String) -> (path: String, snapshotID: String)? {
        let path = Path.absolute(target) + "/.chainvault-restore/journal"
        // Present is enough (unreadable or damaged, it is still unfinished work).
        guard case .some(.some) = try? Posix.lstat(path) else { return nil }
        return (path, (try? Posix.readFile(path)).flatMap(InPlaceJournal.decode)?.snapshotID ?? "")
    }
}
