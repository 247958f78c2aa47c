import Glibc
internal import CSystem

/// Opening a path inside a directory that someone else may write (a repository on a shared disk):
/// no symlink is followed anywhere on the way, so a planted link never sends a read, listing or
/// delete outside that directory.
extension Posix {
    /// Opens `relative` (names joined by "/", chainvault's own: never "." or "..") under `dirfd`,
    /// refusing a symlink in any component, the last one included: -1 with errno ELOOP (or
    /// ENOTDIR) then. Uses openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) where the kernel has it
    /// (Linux >= 5.6), else one openat(O_NOFOLLOW) per component. O_CLOEXEC is always added.
    /// The corresponding C function is `openat2`.
    public static func openBeneath(_ dirfd: Int32, _ relative: String, _ flags: Int32) -> Int32 {
        let all = UInt64(UInt32(bitPattern: flags | O_CLOEXEC | O_NOFOLLOW))
        let resolve = CSystem_RESOLVE_BENEATH() | CSystem_RESOLVE_NO_SYMLINKS()
        let fd = retrying { CSystem_openat2(dirfd, relative, all, resolve) }
        // ENOSYS: an older kernel; EPERM: a seccomp filter that does not know the call.
        guard fd < 0, errno == ENOSYS || errno == EPERM else { return fd }
        return openEachNoFollow(dirfd, relative, flags)
    }

    private static func openEachNoFollow(_ dirfd: Int32, _ relative: String, _ flags: Int32) -> Int32 {
        let parts = relative.split(separator: "/").map(String.init)
        var current = dirfd
        defer { if current != dirfd { _ = Glibc.close(current) } }
        for (i, part) in parts.enumerated() {
            if part == "." || part == ".." { errno = EXDEV; return -1 }
            let last = i == parts.count - 1
            let want = last ? flags | O_CLOEXEC | O_NOFOLLOW : O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW
            let next = retrying { Glibc.openat(current, part, want) }
            if next < 0 { return -1 }
            if last { return next }
            if current != dirfd { _ = Glibc.close(current) }
            current = next
        }
        return retrying { Glibc.openat(dirfd, ".", flags | O_CLOEXEC) }
    }

    /// Moves `from` in `fromDir` to `to` in `toDir`, refusing to replace an existing `to`.
    /// The corresponding C function is `renameat2(…, RENAME_NOREPLACE)`.
    public static func renameAtNoReplace(
        _ fromDir: Int32, _ from: String, _ toDir: Int32, _ to: String,
        display: @autoclosure () -> String
    ) throws {
        let r = retrying { CSystem_renameat2(fromDir, from, toDir, to, CSystem_RENAME_NOREPLACE()) }
        if r < 0 { throw error("rename into", display(), code: errno == EEXIST ? .alreadyExists : .storageFailure) }
    }

    /// The corresponding C function is `fstat`.
    public static func fstat(_ fd: Int32, path: @autoclosure () -> String) throws -> stat {
        var st = stat()
        if Glibc.fstat(fd, &st) < 0 { throw error("stat", path()) }
        return st
    }
}
