internal import COpenSSL

/// Key material in memory that is wiped (OPENSSL_cleanse, which the optimizer may not elide) when
/// the last reference goes away. Never printed: `description` shows only the length.
///
/// @unchecked: the buffer is allocated in `init` and written only before the value is handed to
/// anyone (`init(consuming:)`, `random`); after that it is only read, and wiped in `deinit`
/// when no reference is left.
public final class SecretBytes: @unchecked Sendable, CustomStringConvertible {
    private let storage: UnsafeMutableRawBufferPointer

    public var count: Int { storage.count }

    public init(count: Int) {
        // An empty secret still owns one byte, so the pointer is never nil.
        storage = .allocate(byteCount: max(count, 1), alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
    }

    /// Copies `bytes` in and wipes the caller's array, so one copy of the secret remains.
    public convenience init(consuming bytes: inout [UInt8]) {
        self.init(count: bytes.count)
        bytes.withUnsafeBytes { storage.copyMemory(from: $0) }
        wipe(&bytes)
    }

    public static func random(count: Int) -> SecretBytes {
        let secret = SecretBytes(count: count)
        secret.storage.withMemoryRebound(to: UInt8.self) { SecureRandom.fill($0.baseAddress!, count) }
        return secret
    }

    deinit {
        OPENSSL_cleanse(storage.baseAddress, storage.count)
        storage.deallocate()
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: storage[0..<count]))
    }

    /// A copy for encoding into a wrapped key; wipe it after use.
    public func copyBytes() -> [UInt8] { withUnsafeBytes { Array($0) } }

    public var description: String { "SecretBytes(\(count) bytes)" }
}

/// Overwrites an array's bytes in a way the optimizer cannot drop.
public func wipe(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
}

public enum SecureRandom {
    public static func fill(_ pointer: UnsafeMutablePointer<UInt8>, _ count: Int) {
        precondition(RAND_bytes(pointer, Int32(count)) == 1, "RAND_bytes failed: the system RNG is unavailable")
    }

    public static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { fill($0.baseAddress!, count) }
        return out
    }
}

/// Compares secrets (API tokens) in time that does not depend on where they differ; only the
/// length can leak. The corresponding C function is `CRYPTO_memcmp`.
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    if a.isEmpty { return true }
    return a.withUnsafeBytes { x in b.withUnsafeBytes { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, a.count) == 0 }
    }
}
