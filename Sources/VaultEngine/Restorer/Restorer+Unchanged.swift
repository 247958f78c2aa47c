import Glibc
import VaultCore
import VaultRepository

/// A live file that already holds what the snapshot records is left alone: a `--path FILE`
/// restore keeps its inode and makes no copy (as an unchanged file of an in-place restore), and a
/// protected file equal to the snapshot's is neither "kept" nor "restored from the snapshot".
extension Restorer {
    /// Whether the regular file `name` in `dirFD` (its `lstat` is `st`) has the node's content: the
    /// quick check (size and mtime in ns; not with `--verify-all`), else every chunk hashed and
    /// every zero run read (nothing is fetched). `hashed` counts the files read to tell.
    func liveEquals(
        _ node: Node, _ st: stat, in dirFD: Int32, name: [UInt8], display: String,
        hashed: inout UInt64
    ) throws -> Bool {
        guard (st.st_mode & S_IFMT) == S_IFREG, UInt64(st.st_size) == node.size else { return false }
        let mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        if !options.verifyAll, mtime == node.mtimeNanos { return true }
        var lengths: [UInt64] = []
        for id in node.chunks {
            guard let location = repository.index.lookup(id) else { return false }
            lengths.append(UInt64(location.entry.rawLength))
        }
        guard let offsets = node.chunkOffsets(rawLengths: lengths) else { return false }
        let fd = try LiveFile.openRegular(dirFD, name, display: display)
        if fd < 0 { return false }
        defer { Posix.close(fd) }
        hashed += 1
        var buffer: [UInt8] = []
        return try LiveFile.compare(fd, node, offsets: offsets, lengths: lengths, path: display, buffer: &buffer)?
            .same ?? false
    }

    /// `liveEquals` for a path (bytes, absolute) that may be missing or not a regular file.
    func liveEquals(_ node: Node, at path: [UInt8], display: String) throws -> Bool {
        guard let st = Posix.lstatAt(AT_FDCWD, path) else { return false }
        var hashed: UInt64 = 0
        return try liveEquals(node, st, in: AT_FDCWD, name: path, display: display, hashed: &hashed)
    }

    /// A single file onto a live regular file with its content: only owner, mode and mtime are set
    /// where they differ, through the parent (never by opening it). nil when it differs (the
    /// caller restores it), else how many files were hashed to tell.
    func leaveUnchangedSingleFile(_ unit: Node) throws -> UInt64? {
        guard unit.kind == .file, !options.force else { return nil }
        let parent = FileDescriptor(adopting: try Posix.open(Path.parent(destination), O_RDONLY | O_DIRECTORY))
        let name = Array(Path.base(destination).utf8)
        var hashed: UInt64 = 0
        guard let st = Posix.lstatAt(parent.rawValue, name),
            try liveEquals(unit, st, in: parent.rawValue, name: name, display: destination, hashed: &hashed)
        else {
            return nil
        }
        let old = EntryAttributes(st), new = EntryAttributes(unit)
        if old != new {
            let owned =
                !applyOwner || (old.uid == new.uid && old.gid == new.gid)
                || metadata.setOwner(at: parent.rawValue, name, uid: new.uid, gid: new.gid, path: destination)
            try Posix.setMode(
                at: parent.rawValue, name, MetadataApplier.mode(new.mode, ownerSet: owned),
                path: destination)
            let time = RestoreFile.time(new.mtimeNanos)
            try Posix.setTimes(at: parent.rawValue, name, access: time, modification: time, path: destination)
        }
        files = 1
        return hashed
    }
}
