internal import COpenSSL

public enum HMAC {
    /// HMAC-SHA256 (RFC 2104) through OpenSSL's one-shot `HMAC`.
    public static func sha256(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let result = key.withUnsafeBufferPointer { k in
            data.withUnsafeBufferPointer { d in
                out.withUnsafeMutableBufferPointer { o in
                    COpenSSL.HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), d.baseAddress, d.count, o.baseAddress, &length)
                }
            }
        }
        precondition(result != nil && length == 32, "HMAC-SHA256 failed")
        return out
    }

    public static func sha256(key: [UInt8], _ text: String) -> [UInt8] { sha256(key: key, Array(text.utf8)) }
}
