import Foundation
import Glibc
import Synchronization
import VaultCore

/// A transfer rate in bytes per second, shared by every thread (and every backend) that moves
/// bytes through it, so `--limit-upload 2048` caps the whole command, not each worker. A token
/// bucket with debt: a transfer takes its size at once and, when that leaves the bucket below
/// zero, its thread sleeps exactly as long as the debt takes to refill. No polling, and a
/// transfer larger than the burst is allowed (objects are written whole), its cost paid by the
/// wait that follows. The rate can change under way (a daemon reload).
public final class TokenBucket: Sendable {
    struct State {
        var rate: Double
        var tokens: Double
        var last: UInt64
    }

    private let state: Mutex<State>

    /// What may pass at full speed after an idle moment: a quarter second's worth, at least 64 KiB.
    static func burst(_ rate: Double) -> Double { max(rate / 4, 65_536) }

    public init(bytesPerSecond: Double) {
        state = Mutex(State(rate: bytesPerSecond, tokens: Self.burst(bytesPerSecond), last: Self.now()))
    }

    public var bytesPerSecond: Double { state.withLock { $0.rate } }

    public func setRate(_ bytesPerSecond: Double) {
        state.withLock { s in
            Self.refill(&s)
            s.rate = bytesPerSecond
            s.tokens = min(s.tokens, Self.burst(bytesPerSecond))
        }
    }

    /// Takes `count` bytes' worth and returns when the rate allows them.
    public func take(_ count: Int) {
        guard count > 0 else { return }
        let wait = state.withLock { s -> Double in
            Self.refill(&s)
            s.tokens -= Double(count)
            return s.tokens < 0 ? -s.tokens / s.rate : 0
        }
        guard wait > 0 else { return }
        var t = timespec(tv_sec: Int(wait), tv_nsec: Int((wait - wait.rounded(.down)) * 1e9))
        var left = timespec()
        // nanosleep leaves the time still to sleep in `left` when a signal interrupts it.
        while nanosleep(&t, &left) == -1 && errno == EINTR { t = left }
    }

    private static func refill(_ s: inout State) {
        let now = now()
        s.tokens = min(burst(s.rate), s.tokens + Double(now &- s.last) / 1e9 * s.rate)
        s.last = now
    }

    private static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// The bandwidth limits of a command or a daemon's repository: nil is unlimited.
public struct BandwidthLimits: Sendable {
    public var upload: TokenBucket?
    public var download: TokenBucket?
    public init(upload: TokenBucket? = nil, download: TokenBucket? = nil) { self.upload = upload; self.download = download }

    public static let none = BandwidthLimits()
    public var isEmpty: Bool { upload == nil && download == nil }

    /// A limit as the command line and the config write it: KiB/s, a positive number.
    public static func kibPerSecond(_ text: String, option: String) throws -> Double {
        guard let v = Double(text), v.isFinite, v > 0 else {
            throw VaultError(.usage, "\(option) '\(text)' is not a rate in KiB/s",
                             hint: "give a positive number of KiB per second, e.g. \(option) 2048 for 2 MiB/s")
        }
        return v * 1024
    }
}

/// Any backend with bandwidth limits (openBackend's `limits`): uploads (`write`, `writeFile`) take
/// their size from the upload bucket before they start; downloads (`read`) take theirs from the
/// download bucket, before a ranged read and after a whole one (its size is known only then).
/// Listings, stats and deletes are small and pass. The one place limits are applied, for a local
/// directory and S3 alike; what the backend can do beyond storing objects is passed through.
public class ThrottledBackend: Backend, StoreClock, WriteRefusalDetecting, @unchecked Sendable {
    // Safe: all stored properties are immutable and themselves thread-safe.
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
    public func create() throws { try inner.create() }
    public func list(_ kind: ObjectKind) throws -> [ObjectInfo] { try inner.list(kind) }
    public func delete(_ handle: ObjectHandle) throws { try inner.delete(handle) }
    public func stat(_ handle: ObjectHandle) throws -> Int? { try inner.stat(handle) }

    public func read(_ handle: ObjectHandle, range: Range<Int>?) throws -> [UInt8] {
        if let range { limits.download?.take(range.count) }
        let bytes = try inner.read(handle, range: range)
        if range == nil { limits.download?.take(bytes.count) }
        return bytes
    }

    /// The second read of damaged bytes must reach the inner backend's own `reread` (a new S3
    /// connection), not the protocol's default that reads through the pool again.
    public func reread(_ handle: ObjectHandle, range: Range<Int>?) throws -> [UInt8] {
        if let range { limits.download?.take(range.count) }
        let bytes = try inner.reread(handle, range: range)
        if range == nil { limits.download?.take(bytes.count) }
        return bytes
    }

    public func write(_ handle: ObjectHandle, _ bytes: [UInt8]) throws {
        limits.upload?.take(bytes.count)
        try inner.write(handle, bytes)
    }

    public func writeFile(_ handle: ObjectHandle, path: String) throws {
        if let upload = limits.upload, let st = try Posix.lstat(path) { upload.take(Int(st.st_size)) }
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

final class ThrottledLockingBackend: ThrottledBackend, @unchecked Sendable, KernelLocking {
    // `wrap` builds this only over a KernelLocking backend.
    private var locking: KernelLocking { inner as! KernelLocking }

    func writeHeld(_ handle: ObjectHandle, _ bytes: [UInt8]) throws -> ObjectLease {
        limits.upload?.take(bytes.count)
        return try locking.writeHeld(handle, bytes)
    }

    func isHeld(_ handle: ObjectHandle) -> Bool? { locking.isHeld(handle) }
}

extension Backend {
    /// The backend under any bandwidth limit, for what only a concrete backend offers.
    public var unthrottled: Backend { (self as? ThrottledBackend)?.inner ?? self }
}
