import Foundation
import Glibc
import VaultCore

// Lock support of a local repository: the kernel's clock (file mtimes) as the store clock, and
// flock(2) as a lock the kernel releases when its holder dies, seen by every process of this
// kernel whatever its PID namespace or container.
extension LocalBackend: StoreClock, KernelLocking, WriteRefusalDetecting {
    static func modified(_ st: stat) -> Date {
        Date(timeIntervalSince1970: Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9)
    }

    /// The mtime the kernel gives a file created now: the same clock as the listed mtimes of lock
    /// and pack files, which no `faketime` or wrong `date` in this process changes. Read with
    /// `lstat`, the call the listing uses, so anything that shifts one shifts both.
    public func storeNow() throws -> Date {
        let dir = try writableDirectory(ObjectHandle(.lock, "clock"))
        let probe = ".tmp-clock-" + Hex.encode(SecureRandom.bytes(6))
        let fd = try Posix.openAt(
            dir.fd, probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600,
            displayPath: dir.path + "/" + probe)
        Posix.close(fd)
        defer { _ = try? Posix.unlinkAt(dir.fd, Array(probe.utf8), directory: false, display: probe) }
        guard let st = Posix.lstatAt(dir.fd, Array(probe.utf8)) else {
            throw Posix.error("stat", dir.path + "/" + probe)
        }
        return Self.modified(st)
    }

    /// Temp file, contents, fsync, LOCK_SH, then the no-replace rename and directory fsync: the
    /// object is never visible unlocked, so a checker that can lock it knows its writer is gone.
    public func writeHeld(_ handle: ObjectHandle, _ bytes: [UInt8]) throws -> ObjectLease {
        let dir = try writableDirectory(handle)
        let temp = ".tmp-" + handle.name + "-" + Hex.encode(SecureRandom.bytes(6))
        let display = dir.path + "/" + temp
        let fd = try Posix.openAt(
            dir.fd, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600,
            displayPath: display)
        let lease = ObjectLease(fd: fd)  // closes fd on every path below
        do {
            try bytes.withUnsafeBytes { try Posix.writeAll(fd, $0, path: display) }
            try Posix.fsync(fd, path: display)
            _ = try Posix.flock(fd, LOCK_SH, path: display)
            try Posix.renameAtNoReplace(dir.fd, temp, dir.fd, handle.name, display: dir.path + "/" + handle.name)
        } catch {
            _ = try? Posix.unlinkAt(dir.fd, Array(temp.utf8), directory: false, display: display)
            lease.release()
            throw error
        }
        try Posix.fsync(dir.fd, path: dir.path)
        return lease
    }

    public func isHeld(_ handle: ObjectHandle) -> Bool? {
        guard let dir = try? parentDirectory(handle), let fd = try? openObject(handle, in: dir, O_RDONLY), fd >= 0
        else {
            return nil
        }
        defer { Posix.close(fd) }
        // LOCK_EX conflicts with any holder's LOCK_SH; taken, it is dropped at once by the close.
        guard let got = try? Posix.flock(fd, LOCK_EX | LOCK_NB, path: dir.path) else { return nil }
        return !got
    }

    /// A write refused because of the mount or the permissions, not a transient failure. Checked
    /// on the lock directory itself, so the answer is about this repository.
    public func isWriteRefusal(_ error: Error) -> Bool {
        if access(root + "/" + ObjectKind.lock.rawValue, W_OK) == 0 { return false }
        return [EROFS, EACCES, EPERM].contains(errno)
    }
}
