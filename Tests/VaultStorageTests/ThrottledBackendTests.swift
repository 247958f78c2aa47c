import Foundation
import Synchronization
import Testing
import VaultCore
@_spi(Repository) import VaultStorage

/// A bandwidth limit wraps the backend; what the store offers beside objects must pass through it.
/// Found when the limits, the second-connection re-read and the Object Lock renewal met in one
/// tree: behind the wrapper the re-read went through the pool again, and a limited prune neither
/// extended retention nor counted delete markers.
@Suite struct ThrottledBackendTests {
    /// A store that answers re-reads on their own path, keeps retention and counts hidden deletes.
    final class Store: Backend, RetentionExtending, DeleteMarkerCounting, Sendable {
        let objects = MemoryBackend()
        private let counts = Mutex((rereads: 0, extended: [String]()))
        var rereads: Int { counts.withLock { $0.rereads } }
        var extended: [String] { counts.withLock { $0.extended } }
        var location: String { "test-store" }
        func create() throws { try objects.create() }
        func list(_ kind: ObjectKind) throws -> [ObjectInfo] { try objects.list(kind) }
        func read(_ handle: ObjectHandle, range: Range<Int>?) throws -> [UInt8] {
            try objects.read(handle, range: range)
        }
        func reread(_ handle: ObjectHandle, range: Range<Int>?) throws -> [UInt8] {
            counts.withLock { $0.rereads += 1 }
            return try objects.read(handle, range: range)
        }
        func write(_ handle: ObjectHandle, _ bytes: [UInt8]) throws { try objects.write(handle, bytes) }
        func delete(_ handle: ObjectHandle) throws { try objects.delete(handle) }
        func stat(_ handle: ObjectHandle) throws -> Int? { try objects.stat(handle) }
        var retentionPeriod: TimeInterval? { 86_400 }
        func retainUntil(_ handle: ObjectHandle) throws -> Date? { Date(timeIntervalSince1970: 1) }
        func extendRetention(_ handle: ObjectHandle, until: Date) throws {
            counts.withLock { $0.extended.append("\(handle)") }
        }
        var deletesHidden: Int { 7 }
    }

    @Test func aLimitedBackendKeepsTheStoresRereadRetentionAndDeleteMarkers() throws {
        let store = Store()
        let limited = ThrottledBackend.wrap(store, BandwidthLimits(download: TokenBucket(bytesPerSecond: 1e9)))
        #expect(limited !== store, "a limit wraps the backend")
        let handle = ObjectHandle(.snapshot, String(repeating: "ab", count: 32))
        try limited.write(handle, [1, 2, 3])
        #expect(try limited.reread(handle, range: Optional<Range<Int>>.none) == [1, 2, 3])
        #expect(store.rereads == 1, "the second read reaches the store's own re-read")
        let retention = try #require(limited as? RetentionExtending)
        #expect(retention.retentionPeriod == 86_400)
        try retention.extendRetention(handle, until: Date())
        #expect(store.extended.count == 1)
        #expect((limited as? DeleteMarkerCounting)?.deletesHidden == 7)
    }
}
