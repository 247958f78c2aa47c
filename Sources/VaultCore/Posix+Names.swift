import Glibc

/// The `*at` system calls with names as bytes, relative to a directory descriptor: no path string
/// is ever built, so neither invalid UTF-8 nor PATH_MAX limits a walk. `display` names the object
/// in errors.
extension Posix {
    /// The corresponding C function is `openat`; O_CLOEXEC is always added.
    public static func openAt(
        _ dirfd: Int32, _ name: [UInt8], _ flags: Int32, mode: mode_t = 0o644,
        display: @autoclosure () -> String, code: ErrorCode = .storageFailure
    ) throws -> Int32 {
        let fd = FileName.withCString(name) { n in retrying { Glibc.openat(dirfd, n, flags | O_CLOEXEC, mode) } }
        if fd < 0 { throw error("open", display(), code: code) }
        return fd
    }

    /// Like `openAt`, but returns -1 (errno set) instead of throwing, for callers that warn and go on.
    public static func tryOpenAt(_ dirfd: Int32, _ name: [UInt8], _ flags: Int32, mode: mode_t = 0o644) -> Int32 {
        FileName.withCString(name) { n in retrying { Glibc.openat(dirfd, n, flags | O_CLOEXEC, mode) } }
    }

    /// nil (errno set) when it fails. The corresponding C function is `fstatat(…, AT_SYMLINK_NOFOLLOW)`.
    public static func lstatAt(_ dirfd: Int32, _ name: [UInt8]) -> stat? {
        var st = stat()
        let r = FileName.withCString(name) { n in retrying { Glibc.fstatat(dirfd, n, &st, AT_SYMLINK_NOFOLLOW) } }
        return r == 0 ? st : nil
    }

    /// The target's exact bytes; nil (errno set) when it cannot be read.
    /// The corresponding C function is `readlinkat`.
    public static func readLinkAt(_ dirfd: Int32, _ name: [UInt8]) -> [UInt8]? {
        var target = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = FileName.withCString(name) { n in
            target.withUnsafeMutableBytes {
                Glibc.readlinkat(dirfd, n, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count - 1)
            }
        }
        if n <= 0 { return nil }
        return Array(target[0..<n])
    }

    /// The corresponding C function is `mkdirat`.
    public static func mkdirAt(
        _ dirfd: Int32, _ name: [UInt8], mode: mode_t,
        display: @autoclosure () -> String
    ) throws {
        if FileName.withCString(name, { n in retrying { Glibc.mkdirat(dirfd, n, mode) } }) != 0 {
            throw error("create directory", display())
        }
    }

    /// Creates a symlink whose target is exactly `target`. The corresponding C function is `symlinkat`.
    public static func symlinkAt(
        _ target: [UInt8], _ dirfd: Int32, _ name: [UInt8],
        display: @autoclosure () -> String
    ) throws {
        let r = FileName.withCString(target) { t in
            FileName.withCString(name) { n in retrying { Glibc.symlinkat(t, dirfd, n) } }
        }
        if r != 0 { throw error("create symlink", display()) }
    }

    /// A second name for an existing file, both relative to directory descriptors; false (errno set)
    /// when it fails. The corresponding C function is `linkat`.
    public static func linkAt(_ fromDir: Int32, _ from: [UInt8], _ toDir: Int32, _ to: [UInt8]) -> Bool {
        let r = FileName.withCString(from) { f in
            FileName.withCString(to) { t in retrying { Glibc.linkat(fromDir, f, toDir, t, 0) } }
        }
        return r == 0
    }

    /// Removes a name (`AT_REMOVEDIR` for a directory); false when it did not exist.
    /// The corresponding C function is `unlinkat`.
    @discardableResult
    public static func unlinkAt(
        _ dirfd: Int32, _ name: [UInt8], directory: Bool,
        display: @autoclosure () -> String
    ) throws -> Bool {
        let r = FileName.withCString(name) { n in retrying { Glibc.unlinkat(dirfd, n, directory ? AT_REMOVEDIR : 0) } }
        if r != 0 {
            if errno == ENOENT { return false }
            throw error(directory ? "remove directory" : "delete", display())
        }
        return true
    }
}
