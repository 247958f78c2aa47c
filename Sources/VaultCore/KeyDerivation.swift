internal import COpenSSL

public enum HKDF {
    // Fetched once, like SHA256.md: an implicit fetch per derivation is a provider lookup each time.
    // nonisolated(unsafe): an OpaquePointer is not Sendable, but a fetched OpenSSL algorithm is
    // immutable and may be used from any thread (OpenSSL 3 threading rules); set once, never written.
    nonisolated(unsafe) static let kdf: OpaquePointer = {
        guard let kdf = EVP_KDF_fetch(nil, "HKDF", nil) else { fatalError("OpenSSL has no HKDF") }
        return kdf
    }()

    /// HKDF-SHA256 (RFC 5869): extract with `salt`, expand with `info` to `length` bytes.
    public static func sha256(ikm: UnsafeRawBufferPointer, salt: [UInt8], info: [UInt8], length: Int) -> SecretBytes {
        var buffer = [UInt8](repeating: 0, count: length)
        let ok = salt.withUnsafeBufferPointer { s in
            info.withUnsafeBufferPointer { i in
                buffer.withUnsafeMutableBufferPointer { o in
                    COpenSSL_hkdf_sha256(
                        kdf, ikm.baseAddress?.assumingMemoryBound(to: UInt8.self), ikm.count,
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

    /// What a key file may ask for before it is tried (FORMAT.md, "Key files"): `init` and
    /// `key add` write `standard`; the margin is 4x its memory (128 MiB) and 4x its work, so a
    /// later, stronger default still opens while a planted n = 2^20, p = 4 key (1 GiB, 15 s here)
    /// is skipped as damaged without being derived.
    public static let maximumMemory: UInt64 = 128 << 20
    public static let maximumWork: UInt64 = 4 * standard.n * standard.r * standard.p

    /// scrypt needs 128 * N * r bytes and time proportional to N * r * p.
    public var memory: UInt64 { 128 * n * r }
    public var work: UInt64 { n * r * p }

    /// nil when acceptable, else why not.
    public var rejection: String? {
        guard n >= 2, n <= 1 << 24, n & (n - 1) == 0 else { return "N=\(n) is not a power of two from 2 to 2^24" }
        guard (1...32).contains(r), (1...16).contains(p) else { return "r=\(r) or p=\(p) is out of range" }
        guard memory <= Self.maximumMemory else {
            return "it needs \(memory >> 20) MiB, more than \(Self.maximumMemory >> 20) MiB"
        }
        guard work <= Self.maximumWork else { return "its cost N*r*p=\(work) exceeds \(Self.maximumWork)" }
        return nil
    }
}

public enum Scrypt {
    public static func derive(
        password: UnsafeRawBufferPointer, salt: [UInt8], parameters: ScryptParameters,
        length: Int
    ) throws -> SecretBytes {
        var buffer = [UInt8](repeating: 0, count: length)
        // maxmem: 128 * N * r * p plus slack; 0 would cap at 32 MiB and reject N = 2^15. Capped
        // whatever the parameters, so no key file can make one derivation allocate more.
        let maxMemory = min(
            128 * parameters.n * parameters.r * (parameters.p + 2) + (1 << 20),
            ScryptParameters.maximumMemory * 2)
        let ok = salt.withUnsafeBufferPointer { s in
            buffer.withUnsafeMutableBufferPointer { o in
                EVP_PBE_scrypt(
                    password.baseAddress?.assumingMemoryBound(to: CChar.self), password.count,
                    s.baseAddress, s.count, parameters.n, parameters.r, parameters.p, maxMemory,
                    o.baseAddress, length)
            }
        }
        guard ok == 1 else {
            throw VaultError(
                .failure, "scrypt key derivation failed (N=\(parameters.n) r=\(parameters.r) p=\(parameters.p))",
                hint: "the parameters in the key file may be corrupt or need more memory than allowed")
        }
        return SecretBytes(consuming: &buffer)
    }
}
