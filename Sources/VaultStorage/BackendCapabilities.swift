import Foundation
import Synchronization
import VaultCore

// What some backends can do beyond storing objects, used by repository locks and prune. A
// backend that lacks one is still correct: callers fall back to weaker evidence (this host's
// clock, the lock's own timestamps) and decide conservatively.

/// The store's own idea of "now", on the same clock as `ObjectInfo.modified`, so an object's age
/// does not depend on the clock of the host that asks (a fast or slow client, `faketime`).
public protocol StoreClock {
    /// Safe to retry. For a local directory: the mtime of a probe file created (and removed) in
    /// the repository, which the kernel sets; for S3: the `Date` header of a response.
    func storeNow() throws -> Date
}

/// An object kept locked by the kernel while its writer lives: the lock is released when the
/// writer's process ends however it ends (crash, SIGKILL, OOM), whatever its PID namespace.
public protocol KernelLocking {
    /// Writes the object like `write` (durable, atomic, never overwriting) and holds a shared
    /// kernel lock on it from before it becomes visible until the returned lease is released.
    func writeHeld(_ handle: ObjectHandle, _ bytes: [UInt8]) throws -> ObjectLease

    /// True when some process holds a kernel lock on the object, false when none does, nil when
    /// it cannot be told (the object is gone, or the file system refuses locks).
    func isHeld(_ handle: ObjectHandle) -> Bool?
}

/// A kernel lock on one object, released by `release()` or when the lease is freed.
public final class ObjectLease: Sendable {
    /// The descriptor whose close releases the kernel lock; nil once released.
    private let descriptor: Mutex<FileDescriptor?>

    init(fd: Int32) { descriptor = Mutex(FileDescriptor(adopting: fd)) }

    public func release() { descriptor.withLock { $0 = nil } }
}

/// A backend that can tell "this repository refuses writes" (a read-only mount, read-only
/// credentials) from a failure worth retrying.
public protocol WriteRefusalDetecting {
    func isWriteRefusal(_ error: Error) -> Bool
}

extension Backend {
    /// The store's "now" when it can tell, else this host's clock.
    public func storeNowOrLocal() -> Date { ((try? (self as? StoreClock)?.storeNow()) ?? nil) ?? Date() }

    public func isWriteRefusal(_ error: Error) -> Bool {
        (self as? WriteRefusalDetecting)?.isWriteRefusal(error) ?? false
    }
}
