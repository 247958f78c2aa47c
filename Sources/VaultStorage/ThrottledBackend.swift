import Foundation
import VaultCore

/// Any backend with bandwidth limits (openBackend's `limits`): uploads (`write`, `writeFile`) take
/// their size from the upload buckets before they start; downloads (`read`) take theirs from the
/// download buckets, before a ranged read and after a whole one (its size is known only then).
/// Listings, stats and deletes are small and pass. A wait ends early when the limits'
/// cancellation is cancelled: the transfer throws `interrupted` (a ranged read or an upload
/// does not start). The one place limits are applied, for a local directory and S3 alike; what
/// the backend can do beyond storing objects is passed through.
public class ThrottledBackend: Backend, StoreClock, WriteRefusalDetecting, @unchecked Sendable {
    // @unchecked: all stored properties are immutable and thread-safe themselves; only the class
    // is not final (`ThrottledLockingBackend` extends it), which a checked Sendable does not allow.
    public let inner: Backend
    let limits: BandwidthLimits

    /// `backend` itself when there is nothing to limit; a lock-capable backend stays lock-capable.
    public static func wrap(_ backend: Backend, _ limits: BandwidthLimits) -> Backend {
        if limits.isEmpty { return backend }
        if backend is KernelLocking { return ThrottledLockingBackend(backend, limits) }
        return ThrottledBackend(backend, limits)
    }

    init(_ inner: Backend, _ limits: BandwidthLimits) { self.inner = inner; self.limits = limits }

    public var location: String { inner.location }
    public var stagingDirectory: String { inner.stagingDirectory }
    public var preferredConcurrency: Int { inner.preferredConcurrency }
    public var readsSpooledFiles: Bool { inner.readsSpooledFiles }
    public func create() throws { try inner.create() }
    public func list(_ kind: ObjectKind) throws -> [ObjectInfo] { try inner.list(kind) }
    public func delete(_ handle: ObjectHandle) throws { try inner.delete(handle) }
    public func stat(_ handle: ObjectHandle) throws -> Int? { try inner.stat(handle) }

    public func read(_ handle: ObjectHandle, range: Range<Int>?) throws -> [UInt8] {
        if let range { try limits.takeDownload(range.count) }
        let bytes = try inner.read(handle, range: range)
        if range == nil { try limits.takeDownload(bytes.count) }
        return bytes
    }

    public func read(_ handle: ObjectHandle, range: Range<Int>?, reusing buffer: inout [UInt8]) throws {
        if let range { try limits.takeDownload(range.count) }
        try inner.read(handle, range: range, reusing: &buffer)
        if range == nil { try limits.takeDownload(buffer.count) }
    }

    /// The second read of damaged bytes must reach the inner backend's own `reread` (a new S3
    /// connection), not the protocol's default that reads through the pool again.
    public func reread(_ handle: ObjectHandle, range: Range<Int>?) throws -> [UInt8] {
        if let range { try limits.takeDownload(range.count) }
        let bytes = try inner.reread(handle, range: range)
        if range == nil { try limits.takeDownload(bytes.count) }
        return bytes
    }

    public func write(_ handle: ObjectHandle, _ bytes: [UInt8]) throws {
        try limits.takeUpload(bytes.count)
        try inner.write(handle, bytes)
    }

    public func writeFile(_ handle: ObjectHandle, path: String) throws {
        if !limits.uploads.isEmpty, let st = try Posix.lstat(path) { try limits.takeUpload(Int(st.st_size)) }
        try inner.writeFile(handle, path: path)
    }

    public func storeNow() throws -> Date {
        guard let clock = inner as? StoreClock else {
            throw VaultError(.storageFailure, "\(location) does not tell its time")
        }
        return try clock.storeNow()
    }

    public func isWriteRefusal(_ error: Error) -> Bool { inner.isWriteRefusal(error) }
}

/// What prune asks of the store beside objects passes through a limit unchanged: a limited prune
/// still extends Object Lock retention and still counts deletes that only hid an object.
extension ThrottledBackend: RetentionExtending, DeleteMarkerCounting {
    public var retentionPeriod: TimeInterval? { (inner as? RetentionExtending)?.retentionPeriod }

    public func retainUntil(_ handle: ObjectHandle) throws -> Date? {
        try (inner as? RetentionExtending)?.retainUntil(handle)
    }

    public func extendRetention(_ handle: ObjectHandle, until: Date) throws {
        guard let store = inner as? RetentionExtending else {
            throw VaultError(.storageFailure, "\(location) keeps no retention to extend")
        }
        try store.extendRetention(handle, until: until)
    }

    public var deletesHidden: Int { (inner as? DeleteMarkerCounting)?.deletesHidden ?? 0 }
}

// @unchecked: adds no stored state to `ThrottledBackend` (see there).
final class ThrottledLockingBackend: ThrottledBackend, @unchecked Sendable, KernelLocking {
    // `wrap` builds this only over a KernelLocking backend.
    private var locking: KernelLocking { inner as! KernelLocking }

    func writeHeld(_ handle: ObjectHandle, _ bytes: [UInt8]) throws -> ObjectLease {
        try limits.takeUpload(bytes.count)
        return try locking.writeHeld(handle, bytes)
    }

    func isHeld(_ handle: ObjectHandle) -> Bool? { locking.isHeld(handle) }
}

extension Backend {
    /// The backend under any bandwidth limit, for what only a concrete backend offers.
    public var unthrottled: Backend { (self as? ThrottledBackend)?.inner ?? self }
}
