internal import COpenSSL

/// SHA-256 through OpenSSL's EVP interface (SHA-NI accelerated where the CPU has it).
public enum SHA256 {
    // Fetched once: an implicit fetch on every call costs a provider lookup.
    // nonisolated(unsafe): an OpaquePointer is not Sendable, but a fetched OpenSSL algorithm is
    // immutable and may be used from any thread (OpenSSL 3 threading rules); set once, never written.
    nonisolated(unsafe) static let md: OpaquePointer = {
        guard let md = EVP_MD_fetch(nil, "SHA256", nil) else { fatalError("OpenSSL has no SHA256") }
        return md
    }()

    public static func hash(_ data: UnsafeRawBufferPointer) -> SHA256Digest {
        var out = [UInt8](repeating: 0, count: 32)
        var outLength: UInt32 = 0
        let ok = out.withUnsafeMutableBytes { o in
            EVP_Digest(
                data.baseAddress, data.count, o.baseAddress!.assumingMemoryBound(to: UInt8.self),
                &outLength, md, nil)
        }
        precondition(ok == 1 && outLength == 32, "EVP_Digest failed")
        return SHA256Digest(bytes: out)
    }

    public static func hash(_ bytes: [UInt8]) -> SHA256Digest { bytes.withUnsafeBytes { hash($0) } }
    public static func hash(_ bytes: ArraySlice<UInt8>) -> SHA256Digest { bytes.withUnsafeBytes { hash($0) } }
    public static func hash(_ text: String) -> SHA256Digest { hash(Array(text.utf8)) }
}

/// Incremental SHA-256 for data that arrives in pieces (pack files, audit chains).
public final class SHA256Hasher {
    private let ctx: OpaquePointer

    public init() {
        guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed") }
        self.ctx = ctx
        precondition(EVP_DigestInit_ex(ctx, SHA256.md, nil) == 1)
    }

    deinit { EVP_MD_CTX_free(ctx) }

    public func update(_ data: UnsafeRawBufferPointer) {
        guard data.count > 0 else { return }
        precondition(EVP_DigestUpdate(ctx, data.baseAddress, data.count) == 1)
    }

    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    public func finalize() -> SHA256Digest {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        out.withUnsafeMutableBytes { o in
            precondition(EVP_DigestFinal_ex(ctx, o.baseAddress!.assumingMemoryBound(to: UInt8.self), &length) == 1)
        }
        precondition(EVP_DigestInit_ex(ctx, SHA256.md, nil) == 1)
        return SHA256Digest(bytes: out)
    }

    /// Writes the 32-byte digest to `out` and starts over: no allocation, for callers that hash
    /// millions of small messages (transaction ids) with one reused context.
    public func finalize(into out: UnsafeMutableRawPointer) {
        var length: UInt32 = 0
        precondition(EVP_DigestFinal_ex(ctx, out.assumingMemoryBound(to: UInt8.self), &length) == 1 && length == 32)
        precondition(EVP_DigestInit_ex(ctx, SHA256.md, nil) == 1)
    }
}
