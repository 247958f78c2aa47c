import Foundation
import Synchronization
import Testing
import VaultCore
@_spi(Repository) import VaultStorage

/// The token bucket's wait (issue 11 D2): cancelled, it ends at once with `interrupted`, the
/// transfer it guards never reaches the store and its debt is given back; not cancelled, it keeps the rate, and two limits
/// at once keep the lower. Bounds only (the program controls them): an upper one for the
/// cancelled wait, lower ones for rates.
@Suite struct TokenBucketTests {
    /// A store that only counts the writes that reach it.
    final class Counting: Backend, Sendable {
        let objects = MemoryBackend()
        let writes = Mutex(0)
        var location: String { "counting" }
        func create() throws {}
        func list(_ kind: ObjectKind) throws -> [ObjectInfo] { try objects.list(kind) }
        func read(_ handle: ObjectHandle, range: Range<Int>?) throws -> [UInt8] {
            try objects.read(handle, range: range)
        }
        func write(_ handle: ObjectHandle, _ bytes: [UInt8]) throws {
            writes.withLock { $0 += 1 }
            try objects.write(handle, bytes)
        }
        func delete(_ handle: ObjectHandle) throws { try objects.delete(handle) }
        func stat(_ handle: ObjectHandle) throws -> Int? { try objects.stat(handle) }
    }

    /// 1 MiB at 64 KiB/s is a 15 s wait; cancelled from another thread while it runs (or before
    /// it starts: either way it must not sleep the debt off), it throws within 5 s.
    @Test func aCancelledWaitEndsAtOnceWithInterruptedAndTheUploadNeverStarts() throws {
        let store = Counting()
        let cancellation = Cancellation()
        let bucket = TokenBucket(bytesPerSecond: 65_536)
        let limited = ThrottledBackend.wrap(store, BandwidthLimits(upload: bucket, cancellation: cancellation))
        let handle = ObjectHandle(.snapshot, String(repeating: "cd", count: 32))
        let outcome = Mutex<Error?>(nil)
        let done = DispatchSemaphore(value: 0)
        let started = Date()
        Thread {
            do { try limited.write(handle, [UInt8](repeating: 7, count: 1 << 20)) } catch {
                outcome.withLock { $0 = error }
            }
            done.signal()
        }.start()
        cancellation.cancel()
        #expect(done.wait(timeout: .now() + 5) == .success, "the cancelled wait did not end within 5 s")
        let seconds = Date().timeIntervalSince(started)
        #expect(seconds < 5, "took \(seconds) s")
        #expect(
            (outcome.withLock { $0 } as? VaultError)?.code == .interrupted,
            "\(String(describing: outcome.withLock { $0 }))")
        #expect(store.writes.withLock { $0 } == 0, "an upload whose wait was cancelled must not start")
        // Its debt was given back: what runs after the cancellation (the daemon's audit copy) does
        // not wait the cancelled upload's 15 s.
        let after = Date()
        try bucket.take(1024)
        #expect(Date().timeIntervalSince(after) < 2, "a small transfer after a cancelled one waited for its debt")
    }

    /// Without a cancellation the wait still keeps the rate: 256 KiB past the burst at 256 KiB/s.
    @Test func anUncancelledWaitKeepsTheRate() throws {
        let cancellation = Cancellation()
        let bucket = TokenBucket(bytesPerSecond: 262_144)
        let started = Date()
        try bucket.take(65_536 + 262_144, cancellation: cancellation)
        #expect(Date().timeIntervalSince(started) >= 0.95)
    }

    /// A daemon job under its repository's limit and its policy's: the lower rate wins whichever
    /// of the two it is (1 MiB past the bursts at 512 KiB/s is ≥ 2 s; at 4 MiB/s it would be 0.25 s).
    @Test func twoLimitsAtOnceKeepTheLowerRate() throws {
        for (a, b) in [(4.0, 0.5), (0.5, 4.0)] {
            let first = BandwidthLimits(download: TokenBucket(bytesPerSecond: a * 1_048_576))
            let second = BandwidthLimits(download: TokenBucket(bytesPerSecond: b * 1_048_576))
            let store = Counting()
            let handle = ObjectHandle(.snapshot, String(repeating: "ef", count: 32))
            try store.write(handle, [UInt8](repeating: 1, count: 1 << 20))
            let limited = ThrottledBackend.wrap(store, first.combined(with: second))
            let started = Date()
            // The bursts (a quarter second's worth of each) pass at once, the rest at the lower rate.
            _ = try limited.read(handle, range: nil)
            _ = try limited.read(handle, range: nil)
            let seconds = Date().timeIntervalSince(started)
            #expect(seconds >= 3.5, "2 MiB at \(min(a, b)) MiB/s (minus a 128 KiB burst) took \(seconds) s")
        }
    }
}
