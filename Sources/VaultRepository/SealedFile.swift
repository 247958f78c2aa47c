import VaultCore

/// The envelope of every encrypted file that is not a pack (config, index, snapshot):
///
///     magic "CVF1" | kind u8 | 3 zero bytes | salt (32) | AES-256-GCM(ciphertext) | tag (16)
///
/// Key: HKDF-SHA256(master, salt, "chainvault file v1"); nonce: counter 0 (the key is fresh per
/// file); AAD: the 40-byte preamble, so kind and salt cannot be swapped.
public enum SealedFile {
    public enum Kind: UInt8 {
        case config = 1
        case index = 2
        case snapshot = 3
        case audit = 4
    }

    static let magic: [UInt8] = Array("CVF1".utf8)
    static let preambleSize = 40
    static let info = Array("chainvault file v1".utf8)

    public static func seal(_ plaintext: [UInt8], kind: Kind, master: SecretBytes) -> [UInt8] {
        var out = magic
        out += [kind.rawValue, 0, 0, 0]
        out += SecureRandom.bytes(32)
        let preamble = out
        let key = master.withUnsafeBytes { HKDF.sha256(ikm: $0, salt: Array(preamble[8..<40]), info: info, length: 32) }
        key.withUnsafeBytes { k in
            preamble.withUnsafeBytes { aad in
                plaintext.withUnsafeBytes { p in
                    AESGCM().seal(key: k, nonce: AESGCM.nonce(counter: 0), aad: aad, plaintext: p, appendingTo: &out)
                }
            }
        }
        return out
    }

    /// Throws `.corrupt` naming `what` when the envelope is malformed or fails authentication.
    public static func open(_ bytes: [UInt8], kind: Kind, master: SecretBytes, what: String) throws -> [UInt8] {
        guard bytes.count >= preambleSize + AESGCM.tagSize, Array(bytes[0..<4]) == magic else {
            throw VaultError(
                .corrupt, "\(what) is not a chainvault file (bad magic or too short)",
                hint: "the file was damaged or replaced; run 'chainvault verify'")
        }
        guard bytes[4] == kind.rawValue else {
            throw VaultError(.corrupt, "\(what) holds a file of kind \(bytes[4]), expected \(kind.rawValue)")
        }
        let key = master.withUnsafeBytes { HKDF.sha256(ikm: $0, salt: Array(bytes[8..<40]), info: info, length: 32) }
        var plaintext: [UInt8] = []
        let ok = key.withUnsafeBytes { k in
            bytes.withUnsafeBytes { all in
                AESGCM().open(
                    key: k, nonce: AESGCM.nonce(counter: 0),
                    aad: UnsafeRawBufferPointer(rebasing: all[0..<preambleSize]),
                    sealed: UnsafeRawBufferPointer(rebasing: all[preambleSize...]), appendingTo: &plaintext)
            }
        }
        guard ok else {
            throw VaultError(
                .corrupt, "\(what) failed authentication: it was altered or damaged",
                hint: "run 'chainvault verify' to see what is affected")
        }
        return plaintext
    }
}
