import Glibc
import VaultCore

/// The previous content a restore keeps (FORMAT.md, "Previous content"): every
/// `<name>.pre-restore-<time>` is a directory holding the marker `.chainvault-previous`, written
/// before it gets that name, so chainvault knows it by what it wrote into it: a backup of a source
/// holding one at its root skips it, and an in-place restore leaves it where it is. A directory's
/// old tree (or an in-place restore's rollback directory) holds the marker at its top; a single
/// entry (file, symlink, fifo) is kept inside such a directory under its own name.
extension Restorer {
    /// Marks the directory `path` as previous content and renames it to `name` (never replacing).
    func keepPrevious(_ path: String, as name: String) throws -> String {
        try writePreviousMarker(in: path)
        Failpoint.stop("restore-previous-marked")
        return try keep(path, as: name)
    }

    /// A single entry's staging directory after its swap (`entry` is the old content, beside
    /// `.chainvault-single`): marked, `entry` renamed to `base`, the single marker removed, then
    /// kept as `name`. Every step can be repeated after a crash: a later run finds the directory
    /// as a staging leftover in one of these states and completes it. Returns the old entry's path.
    /// The single marker goes only once the directory has its `.pre-restore-` name: while it is a
    /// staging leftover the marker says it holds one entry (`entry`, or `base` once renamed), so
    /// `--rollback` and the next run never take it for a directory's old tree (an outside tester
    /// killed a run after the rename to `base`: the next run neither kept nor reported that copy).
    func keepPreviousEntry(staging: String, base: String, as name: String) throws -> String {
        try writePreviousMarker(in: staging)
        Failpoint.stop("restore-previous-marked")
        if base != Self.entryName, try Posix.lstat(staging + "/" + Self.entryName) != nil {
            try Posix.renameNoReplace(staging + "/" + Self.entryName, staging + "/" + base)
            try Posix.fsyncDirectory(staging)
        }
        Failpoint.stop("restore-previous-entry-renamed")
        let kept = try keep(staging, as: name)
        Failpoint.stop("restore-previous-kept")
        _ = try Posix.unlink(kept + "/" + Self.singleMarker)
        try Posix.fsyncDirectory(kept)
        return kept + "/" + base
    }

    /// Kept copies of the destination that still hold `.chainvault-single` (a run killed between
    /// the kept directory's rename and the marker's removal, so it never said where the old entry
    /// is): the marker goes and the copy is returned, for this run to report.
    func finishKeptEntries() throws -> [String] {
        let prefix = DerivedName.stem(Path.base(destination)) + ".pre-restore-"
        let parent = Path.parent(destination)
        var out: [String] = []
        for name in try DirectoryListing.names(parent) where name.hasPrefix(prefix) {
            let kept = Path.join(parent, name)
            guard try Posix.lstat(kept + "/" + WorkingNames.previousMarker) != nil,
                try Posix.unlink(kept + "/" + Self.singleMarker)
            else { continue }
            try Posix.fsyncDirectory(kept)
            out.append(kept + "/" + Path.base(destination))
        }
        return out.sorted()
    }

    /// An entry that is not a directory where a directory was swapped in (a snapshot's tree onto
    /// a target that was a file): a marked directory `name` (or `name-2`…) is made first, then the
    /// entry is moved into it under its own name `base`. Killed in between, the marked directory is
    /// empty but for its marker and the entry is still a staging leftover, which the next run
    /// keeps the same way. Returns the old entry's path.
    func keepPreviousNonDirectory(_ path: String, base: String, as name: String) throws -> String {
        var holder = name
        for n in 2...1001 {
            if try Posix.mkdir(holder, mode: 0o700) { break }
            guard n <= 1000 else { throw VaultError(.storageFailure, "no free name to keep \(path) as \(name)") }
            holder = name + "-\(n)"
        }
        try Posix.fsyncDirectory(Path.parent(holder))
        try writePreviousMarker(in: holder)
        try Posix.renameNoReplace(path, holder + "/" + base)
        try Posix.fsyncDirectory(holder)
        try Posix.fsyncDirectory(Path.parent(path))
        return holder + "/" + base
    }

    private func writePreviousMarker(in directory: String) throws {
        let fd = try Posix.open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        defer { Posix.close(fd) }
        let name = Array(WorkingNames.previousMarker.utf8)
        if Posix.lstatAt(fd, name) != nil { return }
        let shown = directory + "/" + WorkingNames.previousMarker
        var before = stat()
        guard fstat(fd, &before) == 0 else { throw Posix.error("stat", directory) }
        let marker = try Posix.openAt(fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600, display: shown)
        defer { Posix.close(marker) }
        let text =
            "previous content of \(destination), kept by a chainvault restore; remove this directory once "
            + "the node runs well, or move its entries back (without this file)\n"
        try Array(text.utf8).withUnsafeBytes { try Posix.writeAll(marker, $0, path: shown) }
        try Posix.fsync(marker, path: shown)
        // The old tree keeps its own mtime: `--rollback` of a killed swap puts it back exactly.
        try Posix.setTimes(fd, access: before.st_atim, modification: before.st_mtim, path: directory)
        try Posix.fsync(fd, path: directory)
    }

    /// What earlier restores kept or left at the target's root and beside it, for `--rollback`
    /// to report (it undoes only the interrupted run; these stay until the operator removes them).
    func leftoverNotices() -> [String] {
        var out: [String] = []
        let root = Posix.tryOpenAt(AT_FDCWD, Array(destination.utf8), O_RDONLY | O_DIRECTORY)
        if root >= 0 {
            defer { Posix.close(root) }
            for name in (try? DirectoryListing.entries(of: root, path: destination)) ?? []
            where name != WorkingNames.restoreWork {
                if let what = WorkingNames.ours(name, in: root) {
                    out.append("left \(display(name)): \(what); remove it once the node runs well")
                }
            }
        }
        let parent = Path.parent(destination)
        let prefix = Array((DerivedName.stem(Path.base(destination)) + ".pre-restore-").utf8)
        let fd = Posix.tryOpenAt(AT_FDCWD, Array(parent.utf8), O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { return out }
        defer { Posix.close(fd) }
        for name in (try? DirectoryListing.entries(of: fd, path: parent)) ?? [] where name.starts(with: prefix) {
            if WorkingNames.ours(name, in: fd) != nil {
                out.append(
                    "kept \(Path.join(parent, FileName.display(name))): the previous content of an earlier "
                        + "restore of \(destination); remove it once the node runs well")
            }
        }
        return out.sorted()
    }
}
