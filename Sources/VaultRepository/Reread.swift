import VaultCore
import VaultStorage

/// The one place where a read that looks damaged is tried again. One flipped bit on the way (a
/// NIC, a proxy, a cache) is not damage in storage: every object the repository checks (its
/// SHA-256 name, its authentication tag, its JSON) is fetched a second time, with a fresh GET,
/// before it is called corrupt. Only a second read that arrives whole and still fails its check
/// confirms the damage. Failures to read (`.storageFailure`, `.missing`) are not retried here:
/// the backend has already retried them, and they say nothing about the stored bytes.
public enum Reread {
    /// Reads `handle` and decodes it; when decoding finds the bytes damaged (`.corrupt`), reads and
    /// decodes once more, and the second outcome stands.
    public static func read<T>(_ backend: Backend, _ handle: ObjectHandle, range: Range<Int>? = nil,
                               _ decode: ([UInt8]) throws -> T) throws -> T {
        let first = try backend.read(handle, range: range)
        do { return try decode(first) } catch let e as VaultError where e.code == .corrupt {
            return try decode(try backend.read(handle, range: range))
        }
    }

    /// Reads `handle`; when `intact` says no, reads it once more. Returns the bytes of the last read
    /// and whether they are intact: `false` means two reads, the second one whole, were damaged.
    public static func read(_ backend: Backend, _ handle: ObjectHandle, range: Range<Int>? = nil,
                            intact: ([UInt8]) -> Bool) throws -> (bytes: [UInt8], intact: Bool) {
        let first = try backend.read(handle, range: range)
        if intact(first) { return (first, true) }
        let second = try backend.read(handle, range: range)
        return (second, intact(second))
    }
}
