import Foundation
import VaultCore

/// Objects in memory: for tests, and as the base of fault-injecting backends that simulate disk
/// full or power loss.
/// @unchecked: `objects`, `written` and `clockOffset` are read and written only under `lock`.
public final class MemoryBackend: Backend, @unchecked Sendable {
    private let lock = NSLock()
    private var objects: [ObjectHandle: [UInt8]] = [:]
    private var written: [ObjectHandle: Date] = [:]
    private var clockOffset: TimeInterval = 0
    public let location: String

    public init(name: String = "memory") { location = "memory:" + name }

    public func create() throws {
        try lock.withLock {
            if objects[.config] != nil {
                throw VaultError(.alreadyExists, "a repository already exists at \(location)")
            }
        }
    }

    public func list(_ kind: ObjectKind) throws -> [ObjectInfo] {
        lock.withLock {
            objects.filter { $0.key.kind == kind }
                .map { ObjectInfo(name: $0.key.name, size: $0.value.count, modified: written[$0.key]) }
        }
    }

    public func read(_ handle: ObjectHandle, range: Range<Int>?) throws -> [UInt8] {
        guard let bytes = lock.withLock({ objects[handle] }) else { throw missing(handle) }
        guard let range else { return bytes }
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else {
            throw VaultError(.corrupt, "\(handle) is \(bytes.count) bytes, shorter than the range \(range)")
        }
        return Array(bytes[range])
    }

    public func write(_ handle: ObjectHandle, _ bytes: [UInt8]) throws {
        try lock.withLock {
            if objects[handle] != nil { throw VaultError(.alreadyExists, "\(handle) already exists") }
            objects[handle] = bytes
            written[handle] = Date() + clockOffset
        }
    }

    public func delete(_ handle: ObjectHandle) throws {
        lock.withLock {
            objects[handle] = nil; written[handle] = nil
        }
    }

    public func stat(_ handle: ObjectHandle) throws -> Int? { lock.withLock { objects[handle]?.count } }

    /// Test hook: replace an object's bytes in place, as storage corruption would.
    public func tamper(_ handle: ObjectHandle, _ change: (inout [UInt8]) -> Void) {
        lock.withLock { if var b = objects[handle] { change(&b); objects[handle] = b } }
    }

    /// Test hook: moves the store's clock (what `storeNow` says and what new objects are stamped
    /// with) by `seconds`, so tests age objects without waiting.
    public func advanceClock(by seconds: TimeInterval) { lock.withLock { clockOffset += seconds } }
}

extension MemoryBackend: StoreClock {
    public func storeNow() throws -> Date { lock.withLock { Date() + clockOffset } }
}
