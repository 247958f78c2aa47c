#if canImport(Glibc)
    import Glibc
#endif

/// OpenSSL's low-level `SHA256_Init`/`SHA256_Update`/`SHA256_Final`, for the millions of short
/// messages a chain check hashes (transactions of ~250-400 bytes, 64-byte merkle nodes). Through
/// EVP each message also pays a provider dispatch and a context reset that allocates and wipes
/// (~577 ns per SHA256d of 356 bytes here, against ~440 ns this way; ~25 % of a check's CPU).
/// OpenSSL 3 deprecates these functions and VaultCore's shim hides deprecated declarations
/// (`OPENSSL_NO_DEPRECATED`), but libcrypto.so.3 exports them (`SHA256_Init@@OPENSSL_3.0.0`): the
/// same SHA-NI block code EVP ends in, still OpenSSL's SHA-256. Looked up at run time through
/// `dlsym`, as `Keccak256` does, because only VaultCore links OpenSSL's headers; nil when this
/// libcrypto lacks them (built without deprecated APIs), and callers then use EVP.
enum LowLevelSHA256 {
    typealias Initialize = @convention(c) (UnsafeMutableRawPointer?) -> Int32
    typealias Update = @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> Int32
    typealias Final = @convention(c) (UnsafeMutablePointer<UInt8>?, UnsafeMutableRawPointer?) -> Int32

    struct Functions: @unchecked Sendable {  // three C function pointers, immutable, shared by design
        let initialize: Initialize
        let update: Update
        let final: Final
    }

    /// `SHA256_CTX` of <openssl/sha.h> (`struct SHA256state_st`: h[8], Nl, Nh, data[16], num,
    /// md_len, all 32-bit: 112 bytes); callers allocate this much, rounded up, 16-byte aligned.
    static let contextSize = 128

    static let functions: Functions? = {
        guard let i = dlsym(nil, "SHA256_Init"), let u = dlsym(nil, "SHA256_Update"),
            let f = dlsym(nil, "SHA256_Final")
        else { return nil }
        return Functions(
            initialize: unsafeBitCast(i, to: Initialize.self), update: unsafeBitCast(u, to: Update.self),
            final: unsafeBitCast(f, to: Final.self))
    }()
}
