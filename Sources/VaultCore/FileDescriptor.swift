import Glibc

/// An open file descriptor that this value owns: it is closed exactly once, by `close()`,
/// `closeAfter(_:)` or, failing both, when the value goes away.
///
/// Why a `~Copyable` struct and not a final class: the compiler then proves that one owner
/// closes it once (a copied `Int32` closed twice can close a file another thread has just
/// opened under the same number), at no allocation or reference count per descriptor, and a
/// hand-over (`release()`, a `consuming` parameter) is visible at the call site. Nothing here
/// needs to share a descriptor between owners, which is what a class would add.
///
/// Modelled on swift-system's `FileDescriptor` (`Sources/System/FileDescriptor.swift`,
/// `FileHelpers.swift`), which does not own its descriptor; this one does.
public struct FileDescriptor: ~Copyable, Sendable {
    /// The descriptor's number, for a call that takes a raw one; valid while this value lives.
    public let rawValue: Int32

    /// Takes ownership of `rawValue`, an open descriptor nothing else will close.
    public init(adopting rawValue: Int32) {
        precondition(rawValue >= 0, "adopting an invalid descriptor")
        self.rawValue = rawValue
    }

    /// The descriptor's owner went away without `close()`: best effort, since a deinit cannot
    /// throw. On Linux the number is released even when close reports an error, so this never leaks.
    deinit { _ = Glibc.close(rawValue) }

    /// Closes the descriptor and reports a failure (an NFS or FUSE file system may report a
    /// write-back error only here). EINTR is not retried: Linux has released the number by then.
    /// The corresponding C function is `close`.
    public consuming func close(path: String = "a file") throws {
        let raw = rawValue
        discard self
        if Glibc.close(raw) < 0 && errno != EINTR { throw Posix.error("close", path) }
    }

    /// Hands the descriptor to code that closes it itself; this value no longer owns it.
    public consuming func release() -> Int32 {
        let raw = rawValue
        discard self
        return raw
    }

    /// Runs `body`, then closes the descriptor, also when `body` throws (then `body`'s error is
    /// the one reported and a close error is dropped, as in swift-system's `closeAfter`).
    public consuming func closeAfter<R>(
        path: String = "a file",
        _ body: (borrowing FileDescriptor) throws -> R
    ) throws -> R {
        let result: R
        do {
            result = try body(self)
        } catch {
            _ = Glibc.close(release())
            throw error
        }
        try close(path: path)
        return result
    }
}

extension FileDescriptor {
    /// Opens `path` (O_CLOEXEC is always added). The corresponding C function is `open`.
    public static func open(
        _ path: String, _ flags: Int32, mode: mode_t = 0o644,
        code: ErrorCode = .storageFailure
    ) throws -> FileDescriptor {
        FileDescriptor(adopting: try Posix.open(path, flags, mode: mode, code: code))
    }

    /// Opens entry `name` (bytes) of the directory `dirfd` (O_CLOEXEC is always added).
    /// The corresponding C function is `openat`.
    public static func open(
        at dirfd: Int32, _ name: [UInt8], _ flags: Int32, mode: mode_t = 0o644,
        display: String, code: ErrorCode = .storageFailure
    ) throws -> FileDescriptor {
        FileDescriptor(adopting: try Posix.openAt(dirfd, name, flags, mode: mode, display: display, code: code))
    }

    /// A second descriptor for the same open file (it shares the file offset and status flags),
    /// close-on-exec from the start. The corresponding C function is `fcntl(F_DUPFD_CLOEXEC)`.
    public static func duplicate(_ fd: Int32, path: String) throws -> FileDescriptor {
        let r = Posix.retrying { fcntl(fd, F_DUPFD_CLOEXEC, 0) }
        if r < 0 { throw Posix.error("duplicate the descriptor of", path) }
        return FileDescriptor(adopting: r)
    }
}
