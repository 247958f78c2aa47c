import Glibc

extension Posix {
    /// Removes a tree without following symlinks (a link inside is removed, never its target).
    /// Iterative with bounded descriptors (`DirectoryCursor`): depth is whatever the tree has.
    /// Only for trees chainvault made (staging, scratch): a directory it may not list or write is
    /// given owner rwx first, as a restore applies read-only modes before it can fail.
    public static func removeTree(_ path: String) throws {
        guard let st = try lstat(path) else { return }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            try unlink(path)
            return
        }
        if st.st_mode & 0o700 != 0o700 { _ = chmod(path, (st.st_mode & 0o7777) | 0o700) }
        let cursor = try DirectoryCursor(rootFD: open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW), display: path)
        var pending: [[[UInt8]]] = [try DirectoryListing.entries(of: cursor.current(), path: path)]
        while !pending.isEmpty {
            guard let name = pending[pending.count - 1].popLast() else {
                pending.removeLast()
                if cursor.depth == 0 { break }
                let name = cursor.currentName
                cursor.leave()
                try unlinkAt(cursor.current(), name, directory: true, display: path + "/" + cursor.display(name))
                continue
            }
            let dir = try cursor.current()
            guard let entry = lstatAt(dir, name) else {
                if errno == ENOENT { continue }
                throw error("stat", path + "/" + cursor.display(name))
            }
            if (entry.st_mode & S_IFMT) == S_IFDIR {
                if entry.st_mode & 0o700 != 0o700 {
                    _ = FileName.withCString(name) { fchmodat(dir, $0, (entry.st_mode & 0o7777) | 0o700, 0) }
                }
                try cursor.enter(name)
                pending.append(try DirectoryListing.entries(of: cursor.current(), path: path + "/" + cursor.display()))
            } else {
                try unlinkAt(dir, name, directory: false, display: path + "/" + cursor.display(name))
            }
        }
        if retrying({ Glibc.rmdir(path) }) < 0 { throw error("remove directory", path) }
    }
}
