import VaultCore
import VaultStorage

/// The one place where a read that looks damaged is tried again. One flipped bit on the way (a
/// NIC, a proxy, a cache) is not damage in storage: every object the repository checks (its
/// SHA-256 name, its authentication tag, its JSON) is fetched a second time, with a fresh GET on
/// a new connection (`Backend.reread`), before it is called corrupt. Only a second read that arrives whole and still fails its check
/// confirms the damage. Failures to read (`.storageFailure`, `.missing`) are not retried here:
/// the backend has already retried them, and they say nothing about the stored bytes.
public enum Reread {
    /// Reads `handle` and decodes it; when decoding finds the bytes damaged (`.corrupt`), reads and
    /// decodes once more, and the second outcome stands.
    public static func read<T>(
        _ backend: Backend, _ handle: ObjectHandle, range: Range<Int>? = nil,
        _ decode: ([UInt8]) throws -> T
    ) throws -> T {
        let first = try backend.read(handle, range: range)
        do { return try decode(first) } catch let e as VaultError where e.code == .corrupt {
            return try decode(try backend.reread(handle, range: range))
        }
    }

    /// Reads `handle`; when `intact` says no, reads it once more. Returns the bytes of the last read
    /// and whether they are intact: `false` means two reads, the second one whole, were damaged.
    public static func read(
        _ backend: Backend, _ handle: ObjectHandle, range: Range<Int>? = nil,
        intact: ([UInt8]) -> Bool
    ) throws -> (bytes: [UInt8], intact: Bool) {
        let first = try backend.read(handle, range: range)
        if intact(first) { return (first, true) }
        let second = try backend.reread(handle, range: range)
        return (second, intact(second))
    }

    /// `read(_:_:range:_:)` into a buffer the caller reuses (`Backend.read(_:range:reusing:)`); the
    /// rare second read brings its own buffer.
    public static func read<T>(
        _ backend: Backend, _ handle: ObjectHandle, range: Range<Int>?,
        reusing buffer: inout [UInt8], _ decode: ([UInt8]) throws -> T
    ) throws -> T {
        try backend.read(handle, range: range, reusing: &buffer)
        do { return try decode(buffer) } catch let e as VaultError where e.code == .corrupt {
            return try decode(try backend.reread(handle, range: range))
        }
    }

    /// `read(_:_:range:intact:)` for a whole object into a buffer the caller reuses
    /// (`Backend.read(_:reusing:)`); the rare second read may bring its own buffer.
    public static func read(
        _ backend: Backend, _ handle: ObjectHandle, reusing buffer: inout [UInt8],
        intact: ([UInt8]) -> Bool
    ) throws -> Bool {
        try backend.read(handle, range: nil, reusing: &buffer)
        if intact(buffer) { return true }
        buffer = try backend.reread(handle, range: nil)
        return intact(buffer)
    }

    /// For what takes several reads (a pack's header: its preamble, then its tail): runs `body`
    /// with the backend's `read`; when what it read proves damaged (`.corrupt`), runs it once more
    /// with `reread`, and the second outcome stands.
    public static func twice<T>(
        _ backend: Backend,
        _ body: (_ read: (ObjectHandle, Range<Int>) throws -> [UInt8]) throws -> T
    ) throws -> T {
        do { return try body { try backend.read($0, range: $1) } } catch let e as VaultError where e.code == .corrupt {
            return try body { try backend.reread($0, range: $1) }
        }
    }
}
