import Foundation
import Glibc
import VaultCore
import VaultRepository

/// The in-place restore (FORMAT.md, "In-place restore"): plan (read only), check the free space,
/// build what differs in `<target>/.chainvault-restore/new`, sync, write the journal, carry out its
/// steps, then keep what was replaced as one rollback directory.
extension Restorer {
    static let workName = WorkingNames.restoreWork
    static let journalName: [UInt8] = Array("journal".utf8)
    static let doneName: [UInt8] = Array("done".utf8)

    struct InPlaceOutcome {
        var previous: String?
        var plan: InPlacePlan
    }

    func restoreInPlace(_ unit: Node, snapshotID: String, full: Bool, stamp: String) throws -> InPlaceOutcome {
        let targetFD = try Posix.open(destination, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        defer { Posix.close(targetFD) }
        previousRoot = full ? nil : destination
        progress?.setPhase("comparing")
        let plan = try planInPlace(unit, targetFD: targetFD, full: full)
        files = plan.files
        directoryCount = plan.directories
        if plan.stepCount == 0 { return InPlaceOutcome(previous: nil, plan: plan) }
        try checkSpace(
            targetFD, needed: plan.bytesToWrite + UInt64(plan.stepCount) * 256 + (64 << 10),
            for: "to rebuild what differs")

        _ = FileName.withCString(Self.workName) { mkdirat(targetFD, $0, 0o700) }
        let workFD = try Posix.openAt(
            targetFD, Self.workName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW,
            display: display(Self.workName))
        defer { Posix.close(workFD) }
        let journal = InPlaceJournal(snapshotID: snapshotID, steps: plan.steps + plan.directorySteps)
        do {
            if let before = plan.directorySteps.last(where: { $0.path.isEmpty })?.old {
                try writeBefore(before, workFD: workFD)
            }
            progress?.setPhase("rebuilding", total: plan.bytesToWrite)
            try build(plan, targetFD: targetFD, workFD: workFD)
            try writer.finish()
            progress?.setPhase("syncing")
            try Posix.syncFileSystem(workFD, path: destination)
            try writeJournal(journal, workFD: workFD)
        } catch {
            _ = try? writer.finish()
            discardUnfinished(workFD: workFD, targetFD: targetFD)
            throw error
        }
        Failpoint.stop("restore-in-place-journal")
        progress?.setPhase("swapping")
        let steps = InPlaceSteps(
            target: targetFD, work: workFD, display: destination, applyOwner: applyOwner,
            metadata: metadata)
        let previous: String?
        var reached = 0  // the journal step carried out now, for the undo of a failure
        do {
            for (i, step) in plan.steps.enumerated() {
                reached = i
                try checkCancelledAfterJournal()
                // The second step: a failure after the first one changed the target.
                if i == 1 { try Failpoint.fail("restore-in-place-second-step", display(step.path)) }
                try steps.forward(step)
                if i == 0 { RestoreFailpoint.stop("restore-in-place-step", until: cancellation) }
            }
            // Extended attributes of directories are not in the journal: a run that completes a
            // journal restores the snapshot again, which sets them.
            for (step, node) in zip(plan.directorySteps, plan.directoryNodes) where !node.xattrs.isEmpty {
                if let fd = try? steps.open(targetFD, step.components, create: false) {
                    defer { Posix.close(fd) }
                    try metadata.setXattrs(node, fd: fd, path: display(step.path))
                }
            }
            for (i, step) in plan.directorySteps.enumerated() {
                reached = plan.steps.count + i
                try checkCancelledAfterJournal()
                if i == plan.directorySteps.count - 1 {
                    try Failpoint.fail("restore-last-metadata", display(step.path))
                }
                try steps.forward(step)
            }
            reached = journal.steps.count
            previous = try finishJournal(targetFD: targetFD, workFD: workFD, stamp: stamp, root: journal.rootAttributes)
        } catch {
            // A step that fails leaves no half-restored tree behind an error: the journal is undone.
            throw failedAfterJournal(error, journal, at: reached, targetFD: targetFD, workFD: workFD)
        }
        return InPlaceOutcome(previous: previous, plan: plan)
    }

    /// Statistics of the file system holding the target: too little room fails before anything is written.
    func checkSpace(_ fd: Int32, needed: UInt64, for purpose: String) throws {
        var s = statvfs()
        guard fstatvfs(fd, &s) == 0 else { return }
        let free = UInt64(s.f_bavail) * UInt64(s.f_frsize)
        if free < needed {
            throw VaultError(
                .storageFull,
                "restore target \(destination) has \(Self.mebibytes(free)) free, the restore needs \(Self.mebibytes(needed)) (\(needed) bytes) \(purpose)",
                hint:
                    "free at least \(Self.mebibytes(needed - free)) on its file system and run the restore again; nothing was changed"
            )
        }
    }

    static func mebibytes(_ n: UInt64) -> String { String(format: "%.1f MiB", Double(n) / 1_048_576) }

    private func build(_ plan: InPlacePlan, targetFD: Int32, workFD: Int32) throws {
        _ = FileName.withCString(InPlaceSteps.newName) { mkdirat(workFD, $0, 0o700) }
        let newFD = try Posix.openAt(
            workFD, InPlaceSteps.newName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW,
            display: destination + "/.chainvault-restore/new")
        defer { Posix.close(newFD) }
        RestoreFailpoint.stop("restore-in-place-build", until: cancellation)
        let reuseRoot = previousRoot
        defer { previousRoot = reuseRoot }
        for b in plan.builds {
            try cancellation.check()
            if let e = writer.error { throw e }
            var named = b.node
            named.name = Array(String(b.index).utf8)
            let shown = display(b.path)
            // A leftover of an earlier failed build is this restore's own unfinished work.
            if Posix.lstatAt(newFD, named.name) != nil {
                try Posix.removeTree(destination + "/.chainvault-restore/new/\(b.index)")
            }
            if let link = b.link {
                try buildLink(link, named.name, in: newFD, targetFD: targetFD, workFD: workFD, shown: shown)
                continue
            }
            switch b.node.kind {
            case .file:
                previousRoot = b.liveFile ? reuseRoot : nil
                try writeFile(named, in: newFD, directory: 0, relative: b.path, comparison: plan.comparisons[b.index])
            case .directory: try Posix.mkdirAt(newFD, named.name, mode: 0o700, display: shown)
            case .symlink: try restoreSymlink(named, in: newFD) { shown }
            case .fifo: try metadata.makeFifo(named, in: newFD, relativePath: shown, applyOwner: applyOwner)
            }
        }
    }

    /// One more name of an inode this restore rebuilds (`new/<index>`) or keeps live: a full
    /// restore gives hardlinked names one inode, and so does this one.
    private func buildLink(
        _ link: InPlacePlan.Link, _ name: [UInt8], in newFD: Int32, targetFD: Int32, workFD: Int32,
        shown: String
    ) throws {
        let linked: Bool
        switch link {
        case .built(let first):
            linked = Posix.linkAt(newFD, Array(String(first).utf8), newFD, name)
        case .live(let path):
            let parts = path.split(separator: 47).map(Array.init)
            let steps = InPlaceSteps(
                target: targetFD, work: workFD, display: destination, applyOwner: applyOwner,
                metadata: metadata)
            let parent = try steps.open(targetFD, parts.dropLast(), create: false)
            defer { Posix.close(parent) }
            linked = Posix.linkAt(parent, parts[parts.count - 1], newFD, name)
        }
        if !linked { throw Posix.error("link the restored", shown) }
    }

    private func writeJournal(_ journal: InPlaceJournal, workFD: Int32) throws {
        let temp: [UInt8] = Array("journal.tmp".utf8)
        let bytes = journal.encoded()
        let fd = try Posix.openAt(workFD, temp, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600, display: "journal")
        do {
            defer { Posix.close(fd) }
            try bytes.withUnsafeBytes { try Posix.writeAll(fd, $0, path: destination + "/.chainvault-restore/journal") }
            try Posix.fsync(fd, path: destination + "/.chainvault-restore/journal")
        }
        let r = FileName.withCString(temp) { t in
            FileName.withCString(Self.journalName) { renameat(workFD, t, workFD, $0) }
        }
        if r != 0 { throw Posix.error("write the journal", destination + "/.chainvault-restore/journal") }
        try Posix.fsync(workFD, path: destination + "/.chainvault-restore")
    }

    /// Before the journal exists nothing live was touched but the target's own mtime (the work
    /// directory was made inside it): `new` goes, then the work directory, then that mtime is
    /// set back from `before`.
    func discardUnfinished(workFD: Int32, targetFD: Int32) {
        try? Posix.removeTree(destination + "/.chainvault-restore/new")
        _ = FileName.withCString(Array("journal.tmp".utf8)) { unlinkat(workFD, $0, 0) }
        let before = readBefore(workFD: workFD)
        _ = FileName.withCString(Self.beforeName) { unlinkat(workFD, $0, 0) }
        if FileName.withCString(Self.workName, { unlinkat(targetFD, $0, AT_REMOVEDIR) }) == 0, let before {
            try? setRootAttributes(before, targetFD: targetFD)
            try? Posix.fsync(targetFD, path: destination)
        }
    }

    /// Every step is done: sync, mark it done, then keep the rollback directory under its final
    /// name and remove the work directory.
    func finishJournal(targetFD: Int32, workFD: Int32, stamp: String, root: EntryAttributes?) throws -> String? {
        try Posix.syncFileSystem(targetFD, path: destination)
        if Posix.lstatAt(workFD, Self.journalName) != nil {
            let r = FileName.withCString(Self.journalName) { j in
                FileName.withCString(Self.doneName) { renameat(workFD, j, workFD, $0) }
            }
            if r != 0 { throw Posix.error("mark done the journal of", destination) }
            try Posix.fsync(workFD, path: destination + "/.chainvault-restore")
        }
        let previous = try keepRollback(targetFD: targetFD, workFD: workFD, stamp: stamp)
        // The `done` journal goes last: while it is there a later run knows every step was carried
        // out and only finishes this clean-up; without it, a `new` left behind would look like a
        // build that never started (and `--rollback` would call the new tree the old one).
        _ = FileName.withCString(Self.beforeName) { unlinkat(workFD, $0, 0) }
        _ = FileName.withCString(InPlaceSteps.newName) { unlinkat(workFD, $0, AT_REMOVEDIR) }
        _ = FileName.withCString(Self.doneName) { unlinkat(workFD, $0, 0) }
        Failpoint.stop("restore-in-place-done-removed")
        _ = FileName.withCString(Self.workName) { unlinkat(targetFD, $0, AT_REMOVEDIR) }
        if let root {
            // Removing the work directory was the target's last change: its mtime is the snapshot's.
            var times = [Glibc.timespec](repeating: RestoreFile.time(root.mtimeNanos), count: 2)
            if futimens(targetFD, &times) != 0 { throw Posix.error("set the times of", destination) }
        }
        try Posix.fsync(targetFD, path: destination)
        return previous
    }

    /// The rollback directory goes beside the target when that is the same file system (as the
    /// staged restore keeps `<target>.pre-restore-<time>`); on a mount point it stays inside, as
    /// `.chainvault-restore/previous-<time>`. Never deleted.
    private func keepRollback(targetFD: Int32, workFD: Int32, stamp: String) throws -> String? {
        guard Posix.lstatAt(workFD, InPlaceSteps.rollbackName) != nil else { return nil }
        let work = destination + "/.chainvault-restore"
        var own = stat(), parent = stat()
        if fstat(targetFD, &own) == 0, fstatat(AT_FDCWD, Path.parent(destination), &parent, 0) == 0,
            own.st_dev == parent.st_dev,
            destination != "/"
        {
            let name = DerivedName.sibling(of: destination) + ".pre-restore-" + stamp
            if let kept = try? keepPrevious(work + "/rollback", as: name) {
                try Posix.fsyncDirectory(Path.parent(destination))
                return kept
            }
        }
        return try keepPrevious(work + "/rollback", as: work + "/previous-" + stamp)
    }
}
