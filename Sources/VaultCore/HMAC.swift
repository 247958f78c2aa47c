internal import COpenSSL

public enum HMAC {
    // Made once, like SHA256.md and HKDF.kdf: the one-shot `HMAC()` fetched the MAC and its digest
    // (provider lookups under a lock) on every call, and S3 signing calls it four times a request.
    // nonisolated(unsafe): an OpaquePointer is not Sendable, but the template is never changed after
    // this initialiser; each call duplicates it (EVP_MAC_CTX_dup takes it const: OpenSSL 3's rules
    // let a const object be shared between threads) and keys only its own copy.
    nonisolated(unsafe) static let template: OpaquePointer = {
        guard let t = COpenSSL_hmac_sha256_template() else { fatalError("OpenSSL has no HMAC-SHA256") }
        return t
    }()

    /// HMAC-SHA256 (RFC 2104) through OpenSSL's EVP_MAC (`EVP_MAC_init`/`update`/`final`).
    public static func sha256(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let ok = key.withUnsafeBufferPointer { k in
            data.withUnsafeBufferPointer { d in
                out.withUnsafeMutableBufferPointer { o in
                    COpenSSL_hmac_sha256(template, k.baseAddress, k.count, d.baseAddress, d.count, o.baseAddress)
                }
            }
        }
        precondition(ok == 1, "HMAC-SHA256 failed")
        return out
    }

    public static func sha256(key: [UInt8], _ text: String) -> [UInt8] { sha256(key: key, Array(text.utf8)) }
}
