internal import COpenSSL

public enum HKDF {
    /// HKDF-SHA256 (RFC 5869): extract with `salt`, expand with `info` to `length` bytes.
    public static func sha256(ikm: UnsafeRawBufferPointer, salt: [UInt8], info: [UInt8], length: Int) -> SecretBytes {
        var buffer = [UInt8](repeating: 0, count: length)
        let ok = salt.withUnsafeBufferPointer { s in
            info.withUnsafeBufferPointer { i in
                buffer.withUnsafeMutableBufferPointer { o in
                    COpenSSL_hkdf_sha256(ikm.baseAddress?.assumingMemoryBound(to: UInt8.self), ikm.count,
                                         s.baseAddress, s.count, i.baseAddress, i.count, o.baseAddress, length)
                }
            }
        }
        precondition(ok == 1, "HKDF derivation failed")
        return SecretBytes(consuming: &buffer)
    }
}

/// scrypt parameters; stored with every passphrase-wrapped key so they can grow over time.
public struct ScryptParameters: Codable, Sendable, Equatable {
    public var n: UInt64
    public var r: UInt64
    public var p: UInt64

    public init(n: UInt64, r: UInt64, p: UInt64) { self.n = n; self.r = r; self.p = p }

    /// N = 2^15, r = 8, p = 1: 32 MiB and ~0.1 s here; the interactive figure from the scrypt paper
    /// scaled to what a server can spend when the daemon starts.
    public static let standard = ScryptParameters(n: 1 << 15, r: 8, p: 1)
}

public enum Scrypt {
    public static func derive(password: UnsafeRawBufferPointer, salt: [UInt8], parameters: ScryptParameters,
                              length: Int) throws -> SecretBytes {
        var buffer = [UInt8](repeating: 0, count: length)
        // maxmem: 128 * N * r * p plus slack; 0 would cap at 32 MiB and reject N = 2^15.
        let maxMemory = 128 * parameters.n * parameters.r * (parameters.p + 2) + (1 << 20)
        let ok = salt.withUnsafeBufferPointer { s in
            buffer.withUnsafeMutableBufferPointer { o in
                EVP_PBE_scrypt(password.baseAddress?.assumingMemoryBound(to: CChar.self), password.count,
                               s.baseAddress, s.count, parameters.n, parameters.r, parameters.p, maxMemory,
                               o.baseAddress, length)
            }
        }
        guard ok == 1 else {
            throw VaultError(.failure, "scrypt key derivation failed (N=\(parameters.n) r=\(parameters.r) p=\(parameters.p))",
                             hint: "the parameters in the key file may be corrupt or need more memory than allowed")
        }
        return SecretBytes(consuming: &buffer)
    }
}
