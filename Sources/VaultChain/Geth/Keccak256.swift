#if canImport(Glibc)
    import Glibc
#endif

/// Ethereum's keccak-256 (the original Keccak padding 0x01, not SHA3-256's 0x06), which every
/// block hash, `hashes[i]` of the freezer and the transaction and receipt roots need. Everything
/// cryptographic comes from OpenSSL, and OpenSSL has "KECCAK-256" only from 3.2; the 3.0 here has
/// SHA3-256 and KECCAK-KMAC-256 (a different padding), neither of which gives keccak-256. So the
/// provider looks the algorithm up at run time and reports itself unavailable when OpenSSL lacks
/// it; checks that need it are skipped with an `.info` problem saying so, never faked.
///
/// Looked up through `dlsym` because only VaultCore links OpenSSL's headers (the layering rule);
/// libcrypto is already loaded by VaultCore, so the symbols resolve in-process.
public enum Keccak256 {
    private typealias Fetch =
        @convention(c) (OpaquePointer?, UnsafePointer<CChar>, UnsafePointer<CChar>?)
        -> OpaquePointer?
    private typealias Digest =
        @convention(c) (
            UnsafeRawPointer?, Int, UnsafeMutablePointer<UInt8>?,
            UnsafeMutablePointer<UInt32>?, OpaquePointer?, OpaquePointer?
        ) -> Int32

    private struct Handle: @unchecked Sendable {  // an immutable OpenSSL EVP_MD, shared read-only by design
        let md: OpaquePointer
        let digest: Digest
    }

    private static let handle: Handle? = {
        guard let fetchSymbol = dlsym(nil, "EVP_MD_fetch"), let digestSymbol = dlsym(nil, "EVP_Digest") else {
            return nil
        }
        let fetch = unsafeBitCast(fetchSymbol, to: Fetch.self)
        guard let md = fetch(nil, "KECCAK-256", nil) else { return nil }
        return Handle(md: md, digest: unsafeBitCast(digestSymbol, to: Digest.self))
    }()

    /// True when the OpenSSL at run time provides keccak-256.
    public static var isAvailable: Bool { handle != nil }

    /// Why the keccak checks did not run, for the report.
    public static let unavailableReason =
        "keccak-256 is unavailable (OpenSSL 3.2 or later provides it): block hashes, hashes[i] and roots not recomputed"

    /// keccak-256 of `data`, or nil when unavailable.
    public static func hash(_ data: UnsafeRawBufferPointer) -> EthHash? {
        guard let h = handle else { return nil }
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = out.withUnsafeMutableBufferPointer { o in
            h.digest(data.baseAddress, data.count, o.baseAddress, &length, h.md, nil)
        }
        guard ok == 1, length == 32 else { return nil }
        return out.withUnsafeBytes { EthHash($0, at: 0) }
    }
}
