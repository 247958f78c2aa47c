import Glibc

/// Metadata system calls, each checked: a failure throws a `VaultError` that names the
/// operation and the path and carries errno's text (ENOSPC and EDQUOT as `.storageFull`).
extension Posix {
    /// The corresponding C function is `fchown`.
    public static func setOwner(_ fd: Int32, uid: uid_t, gid: gid_t, path: @autoclosure () -> String) throws {
        if retrying({ Glibc.fchown(fd, uid, gid) }) < 0 { throw error("set the owner of", path()) }
    }

    /// 0, or the errno of the failure, for a caller that goes on without the owner and says so.
    /// The corresponding C function is `fchown`.
    public static func trySetOwner(_ fd: Int32, uid: uid_t, gid: gid_t) -> Int32 {
        retrying({ Glibc.fchown(fd, uid, gid) }) < 0 ? errno : 0
    }

    /// 0, or the errno of the failure, for a caller that goes on without the owner and says so.
    /// The corresponding C function is `fchownat(…, AT_SYMLINK_NOFOLLOW)`.
    public static func trySetOwner(at dirfd: Int32, _ name: [UInt8], uid: uid_t, gid: gid_t) -> Int32 {
        let r = FileName.withCString(name) { n in
            retrying { Glibc.fchownat(dirfd, n, uid, gid, AT_SYMLINK_NOFOLLOW) }
        }
        return r < 0 ? errno : 0
    }

    /// The corresponding C function is `fchmod`.
    public static func setMode(_ fd: Int32, _ mode: mode_t, path: @autoclosure () -> String) throws {
        if retrying({ Glibc.fchmod(fd, mode) }) < 0 { throw error("set the mode of", path()) }
    }

    /// Access and modification time. The corresponding C function is `futimens`.
    public static func setTimes(
        _ fd: Int32, access: timespec, modification: timespec,
        path: @autoclosure () -> String
    ) throws {
        var times = [access, modification]
        if retrying({ Glibc.futimens(fd, &times) }) < 0 { throw error("set the times of", path()) }
    }

    /// Mode of entry `name` of `dirfd` (Linux has no fchmodat that refuses a symlink: callers
    /// use it only on entries they created and know the type of).
    /// The corresponding C function is `fchmodat`.
    public static func setMode(at dirfd: Int32, _ name: [UInt8], _ mode: mode_t, path: @autoclosure () -> String) throws
    {
        let r = FileName.withCString(name) { n in retrying { Glibc.fchmodat(dirfd, n, mode, 0) } }
        if r < 0 { throw error("set the mode of", path()) }
    }

    /// Access and modification time of entry `name` of `dirfd`, never following a symlink.
    /// The corresponding C function is `utimensat(…, AT_SYMLINK_NOFOLLOW)`.
    public static func setTimes(
        at dirfd: Int32, _ name: [UInt8], access: timespec, modification: timespec,
        path: @autoclosure () -> String
    ) throws {
        var times = [access, modification]
        let r = FileName.withCString(name) { n in
            retrying { Glibc.utimensat(dirfd, n, &times, AT_SYMLINK_NOFOLLOW) }
        }
        if r < 0 { throw error("set the times of", path()) }
    }

    /// Adds `flags` (e.g. O_NONBLOCK) to the descriptor's status flags.
    /// The corresponding C function is `fcntl(F_GETFL)` then `fcntl(F_SETFL)`.
    public static func addStatusFlags(_ fd: Int32, _ flags: Int32, path: @autoclosure () -> String) throws {
        let current = fcntl(fd, F_GETFL)
        if current < 0 || fcntl(fd, F_SETFL, current | flags) < 0 { throw error("set the flags of", path()) }
    }

    /// Marks the descriptor close-on-exec, for one a call could not open so (`accept`).
    /// The corresponding C function is `fcntl(F_SETFD, FD_CLOEXEC)`.
    public static func setCloseOnExec(_ fd: Int32, path: @autoclosure () -> String) throws {
        if fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 { throw error("set close-on-exec on", path()) }
    }
}

extension FileDescriptor {
    /// The corresponding C function is `fstat`.
    public borrowing func status(path: @autoclosure () -> String) throws -> stat {
        try Posix.fstat(rawValue, path: path())
    }

    /// The corresponding C function is `fchown`.
    public borrowing func setOwner(uid: uid_t, gid: gid_t, path: @autoclosure () -> String) throws {
        try Posix.setOwner(rawValue, uid: uid, gid: gid, path: path())
    }

    /// The corresponding C function is `fchmod`.
    public borrowing func setMode(_ mode: mode_t, path: @autoclosure () -> String) throws {
        try Posix.setMode(rawValue, mode, path: path())
    }

    /// The corresponding C function is `futimens`.
    public borrowing func setTimes(access: timespec, modification: timespec, path: @autoclosure () -> String) throws {
        try Posix.setTimes(rawValue, access: access, modification: modification, path: path())
    }
}
