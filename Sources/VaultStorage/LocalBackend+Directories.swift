import Glibc
import VaultCore

/// A directory of a local repository, opened without following any link; closed when released.
final class RepositoryDirectory {
    let fd: Int32
    let path: String
    init(fd: Int32, path: String) { self.fd = fd; self.path = path }
    deinit { Posix.close(fd) }
}

// Whoever can write the repository's disk can replace `locks/` or `data/3f/` by a symlink to any
// directory; followed, a listing would read it and `unlock` or prune would delete in it. Every
// access below the root therefore goes through a descriptor opened with no link followed
// (FORMAT.md, "No links inside a repository"). The root itself is the operator's path and may be one.
extension LocalBackend {
    /// The repository directory `relative` ("" is the root), or nil when it does not exist.
    func directory(_ relative: String) throws -> RepositoryDirectory? {
        let rootFD = Posix.retrying { Glibc.open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        if rootFD < 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw Posix.error("open", root)
        }
        if relative.isEmpty { return RepositoryDirectory(fd: rootFD, path: root) }
        defer { Posix.close(rootFD) }
        let fd = Posix.openBeneath(rootFD, relative, O_RDONLY | O_DIRECTORY)
        if fd >= 0 { return RepositoryDirectory(fd: fd, path: root + "/" + relative) }
        let e = errno
        if e == ENOENT { return nil }
        if e == ELOOP || e == ENOTDIR || e == EXDEV { throw refusedEntry(relative) }
        throw Posix.error("open", root + "/" + relative, errno: e)
    }

    /// The directory that holds `handle`, or nil when it does not exist.
    func parentDirectory(_ handle: ObjectHandle) throws -> RepositoryDirectory? {
        try checkName(handle)
        let relative = Path.parent(handle.relativePath)
        return try directory(relative == "." ? "" : relative)
    }

    /// Opens the object file itself, refusing a link in its place; -1 with errno ENOENT when absent.
    func openObject(_ handle: ObjectHandle, in dir: RepositoryDirectory, _ flags: Int32) throws -> Int32 {
        let fd = Posix.retrying { Glibc.openat(dir.fd, handle.name, flags | O_NOFOLLOW | O_CLOEXEC) }
        if fd < 0 {
            if errno == ELOOP { throw refusedEntry(handle.relativePath) }
            if errno == ENOENT { return -1 }
            throw Posix.error("open", root + "/" + handle.relativePath)
        }
        return fd
    }

    /// Names come from listings or from chainvault itself; one with a slash could only reach
    /// another directory.
    func checkName(_ handle: ObjectHandle) throws {
        if handle.name.isEmpty || handle.name.contains("/") || handle.name == "." || handle.name == ".." {
            throw VaultError(
                .unsafeInput, "\(handle.kind.rawValue)/\(handle.name) is not a valid object name",
                hint: "object names are hex digests or random hex ids")
        }
    }

    func refusedEntry(_ relative: String) -> VaultError {
        let isLink = (try? Posix.lstat(root + "/" + relative)).flatMap { $0 }.map { ($0.st_mode & S_IFMT) == S_IFLNK }
        let what = isLink == true ? "is a symbolic link" : "is a symbolic link or not a directory"
        return VaultError(
            .unsafeInput,
            "\(root)/\(relative) \(what): chainvault never follows links inside a repository",
            hint: "someone changed the repository's layout; check where it points, replace it with the "
                + "real directory or file, then run 'chainvault verify'")
    }
}
