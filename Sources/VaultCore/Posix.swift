import Glibc
internal import CSystem

/// Thin wrappers over the syscalls the storage and engine layers use. Each retries EINTR and
/// throws a `VaultError` that names the operation and the path. ENOSPC and EDQUOT always map to
/// `.storageFull` so that "disk full" reads the same wherever it happens.
public enum Posix {
    public static func error(
        _ operation: String, _ path: String, errno e: Int32 = errno,
        code: ErrorCode = .storageFailure
    ) -> VaultError {
        let reason = Errno(e)
        switch e {
        case ENOSPC, EDQUOT:
            return VaultError(
                .storageFull, "no space left while trying to \(operation) \(path)", cause: reason,
                hint:
                    "free space on that file system (or raise the quota), then run the command again; nothing written so far is referenced until it completes"
            )
        case EACCES, EPERM:
            return VaultError(
                code, "permission denied: cannot \(operation) \(path)", cause: reason,
                hint: "run as a user that may access it, or fix its ownership and mode")
        case EROFS:
            return VaultError(code, "read-only file system: cannot \(operation) \(path)", cause: reason)
        default:
            return VaultError(code, "cannot \(operation) \(path)", cause: reason)
        }
    }

    @inline(__always)
    public static func retrying(_ body: () -> Int32) -> Int32 {
        while true {
            let r = body()
            if r >= 0 || errno != EINTR { return r }
        }
    }

    /// The corresponding C function is `open`; O_CLOEXEC is always added.
    public static func open(
        _ path: String, _ flags: Int32, mode: mode_t = 0o644,
        code: ErrorCode = .storageFailure
    ) throws -> Int32 {
        let fd = retrying { Glibc.open(path, flags | O_CLOEXEC, mode) }
        if fd < 0 { throw error("open", path, code: code) }
        return fd
    }

    /// The corresponding C function is `openat`.
    public static func openAt(
        _ dirfd: Int32, _ name: String, _ flags: Int32, mode: mode_t = 0o644,
        displayPath: String, code: ErrorCode = .storageFailure
    ) throws -> Int32 {
        let fd = retrying { Glibc.openat(dirfd, name, flags | O_CLOEXEC, mode) }
        if fd < 0 { throw error("open", displayPath, code: code) }
        return fd
    }

    /// Best effort: Linux releases the number whatever close reports. Data written through the
    /// descriptor is made durable by an fsync before it; an owner that must also see a late
    /// write-back error uses `FileDescriptor.close()`.
    /// The corresponding C function is `close`.
    public static func close(_ fd: Int32) { _ = Glibc.close(fd) }

    /// Reads until `buffer` is full or end of file; returns the bytes read.
    public static func pread(
        _ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, offset: Int, path: String,
        code: ErrorCode = .storageFailure
    ) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = Glibc.pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw error("read", path, code: code)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    public static func pwriteAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, offset: Int, path: String) throws {
        var done = 0
        while done < buffer.count {
            let n = Glibc.pwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw error("write", path)
            }
            done += n
        }
    }

    public static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < buffer.count {
            let n = Glibc.write(fd, buffer.baseAddress! + done, buffer.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw error("write", path)
            }
            done += n
        }
    }

    public static func fsync(_ fd: Int32, path: String) throws {
        if retrying({ Glibc.fsync(fd) }) < 0 { throw error("fsync", path) }
    }

    /// Makes a rename or create inside `path` durable: the directory entry itself must be synced.
    public static func fsyncDirectory(_ path: String) throws {
        try FileDescriptor.open(path, O_RDONLY | O_DIRECTORY).closeAfter(path: path) {
            try fsync($0.rawValue, path: path)
        }
    }

    /// Flushes every dirty page and inode of the file system holding `fd`.
    /// The corresponding C function is `syncfs`.
    public static func syncFileSystem(_ fd: Int32, path: String) throws {
        if retrying({ CSystem_syncfs(fd) }) < 0 { throw error("sync the file system of", path) }
    }

    public static func rename(_ from: String, _ to: String) throws {
        if retrying({ Glibc.rename(from, to) }) < 0 { throw error("rename \(from) to", to) }
    }

    /// Fails with EEXIST instead of replacing `to`: content-addressed files are never overwritten.
    /// The corresponding C function is `renameat2(…, RENAME_NOREPLACE)`.
    public static func renameNoReplace(_ from: String, _ to: String) throws {
        let r = retrying { CSystem_renameat2(AT_FDCWD, from, AT_FDCWD, to, CSystem_RENAME_NOREPLACE()) }
        if r < 0 { throw error("rename \(from) to", to, code: errno == EEXIST ? .alreadyExists : .storageFailure) }
    }

    /// Swaps two paths atomically: either both names point at their old objects or both at the new.
    /// The corresponding C function is `renameat2(…, RENAME_EXCHANGE)`.
    public static func exchange(_ a: String, _ b: String) throws {
        let r = retrying { CSystem_renameat2(AT_FDCWD, a, AT_FDCWD, b, CSystem_RENAME_EXCHANGE()) }
        if r < 0 { throw error("exchange \(a) with", b) }
    }

    /// Returns false when the path did not exist.
    @discardableResult
    public static func unlink(_ path: String) throws -> Bool {
        if retrying({ Glibc.unlink(path) }) < 0 {
            if errno == ENOENT { return false }
            throw error("delete", path)
        }
        return true
    }

    /// Returns false when the directory already existed.
    @discardableResult
    public static func mkdir(_ path: String, mode: mode_t = 0o755) throws -> Bool {
        if retrying({ Glibc.mkdir(path, mode) }) < 0 {
            if errno == EEXIST { return false }
            throw error("create directory", path)
        }
        return true
    }

    /// Creates `path` and any missing parents, each made durable (its parent directory fsynced):
    /// a repository or state directory created just before a power cut is still there after it.
    public static func mkdirs(_ path: String, mode: mode_t = 0o755) throws {
        if (try? lstat(path)) != nil { return }
        let parent = Path.parent(path)
        if parent != path && !parent.isEmpty { try mkdirs(parent, mode: mode) }
        if try mkdir(path, mode: mode) { try fsyncDirectory(parent.isEmpty ? "/" : parent) }
    }

    /// nil when nothing is at `path`.
    public static func lstat(_ path: String) throws -> stat? {
        var st = stat()
        if Glibc.lstat(path, &st) < 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw error("stat", path)
        }
        return st
    }

    public static func fileSize(_ fd: Int32, path: String) throws -> Int {
        var st = stat()
        if Glibc.fstat(fd, &st) < 0 { throw error("stat", path) }
        return Int(st.st_size)
    }

    public static func readFile(_ path: String, code: ErrorCode = .storageFailure) throws -> [UInt8] {
        try FileDescriptor.open(path, O_RDONLY, code: code).closeAfter(path: path) { fd in
            let size = try fileSize(fd.rawValue, path: path)
            var bytes = [UInt8](repeating: 0, count: size)
            let n = try bytes.withUnsafeMutableBytes { try pread(fd.rawValue, $0, offset: 0, path: path, code: code) }
            if n < size { bytes.removeSubrange(n...) }
            return bytes
        }
    }

    /// Write-then-rename: a temp file beside `path`, fsync, rename over `path` (or refuse if it exists
    /// and `replace` is false), fsync the directory. A crash leaves the old file or the new one, never
    /// a torn one; a leftover `.tmp-*` is ignored by readers and cleaned by the next writer.
    public static func writeFileAtomically(
        _ path: String, _ bytes: UnsafeRawBufferPointer, mode: mode_t = 0o644,
        replace: Bool = true
    ) throws {
        let directory = Path.parent(path)
        let temp = directory + "/.tmp-" + Path.base(path) + "-" + Hex.encode(SecureRandom.bytes(6))
        let fd = try FileDescriptor.open(temp, O_WRONLY | O_CREAT | O_EXCL, mode: mode)
        do {
            // Closed exactly once, and checked: a late write-back error (NFS) is reported here.
            try fd.closeAfter(path: temp) { fd in
                try writeAll(fd.rawValue, bytes, path: temp)
                try fsync(fd.rawValue, path: temp)
            }
        } catch {
            _ = try? unlink(temp)
            throw error
        }
        do {
            if replace { try rename(temp, path) } else { try renameNoReplace(temp, path) }
        } catch {
            _ = try? unlink(temp)
            throw error
        }
        try fsyncDirectory(directory)
    }
}

/// Path string helpers without Foundation (hot in the directory walk).
public enum Path {
    public static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    public static func base(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    public static func join(_ a: String, _ b: String) -> String {
        if a.isEmpty { return b }
        if b.isEmpty { return a }
        return a.hasSuffix("/") ? a + b : a + "/" + b
    }

    /// Absolute, without trailing slash, `.` and `..` resolved lexically.
    public static func absolute(_ path: String) -> String {
        var full = path
        if !path.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            if getcwd(&buffer, buffer.count) != nil {
                full = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } + "/" + path
            }
        }
        var parts: [Substring] = []
        for part in full.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }
}
