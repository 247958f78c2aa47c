import Testing
import VaultCore

struct SHA256Case: Decodable, CustomTestStringConvertible {
    let message: String, `repeat`: Int, digest: String
    var testDescription: String { "\(message.prefix(12))×\(self.repeat)" }
}
struct GCMCase: Decodable, CustomTestStringConvertible {
    let key: String, iv: String, aad: String, plaintext: String, ciphertext: String, tag: String
    var testDescription: String { "pt=\(plaintext.count / 2)B aad=\(aad.count / 2)B" }
}
struct HKDFCase: Decodable { let ikm: String, salt: String, info: String, length: Int, okm: String }
struct ScryptCase: Decodable {
    let password: String, salt: String, n: UInt64, r: UInt64, p: UInt64, length: Int, key: String
}

@Test(arguments: VectorFile<SHA256Case>.load("sha256"))
func sha256MatchesNIST(_ c: SHA256Case) {
    let message = [UInt8](String(repeating: c.message, count: c.repeat).utf8)
    #expect(SHA256.hash(message).hex == c.digest)
    let hasher = SHA256Hasher()
    for piece in stride(from: 0, to: message.count, by: 7777) {
        hasher.update(Array(message[piece..<min(piece + 7777, message.count)]))
    }
    #expect(hasher.finalize().hex == c.digest, "incremental hashing must equal one-shot")
}

@Test(arguments: VectorFile<GCMCase>.load("aes256gcm"))
func aesGCMMatchesNIST(_ c: GCMCase) {
    let gcm = AESGCM()
    let key = hex(c.key), aad = hex(c.aad), plaintext = hex(c.plaintext)
    var sealed: [UInt8] = []
    key.withUnsafeBytes { k in
        aad.withUnsafeBytes { a in
            plaintext.withUnsafeBytes { p in
                gcm.seal(key: k, nonce: hex(c.iv), aad: a, plaintext: p, appendingTo: &sealed)
            }
        }
    }
    #expect(Hex.encode(sealed) == c.ciphertext + c.tag)

    var opened: [UInt8] = []
    let ok = key.withUnsafeBytes { k in
        aad.withUnsafeBytes { a in
            sealed.withUnsafeBytes { s in
                gcm.open(key: k, nonce: hex(c.iv), aad: a, sealed: s, appendingTo: &opened)
            }
        }
    }
    #expect(ok && opened == plaintext)

    // Any flipped bit, in ciphertext, tag or AAD, must fail authentication and return nothing.
    for position in [0, sealed.count - 1] where !sealed.isEmpty {
        var tampered = sealed
        tampered[position] ^= 0x01
        var out: [UInt8] = [9]
        let bad = key.withUnsafeBytes { k in
            aad.withUnsafeBytes { a in
                tampered.withUnsafeBytes { s in
                    gcm.open(key: k, nonce: hex(c.iv), aad: a, sealed: s, appendingTo: &out)
                }
            }
        }
        #expect(!bad && out == [9])
    }
    let otherAAD: [UInt8] = aad + [1]
    var out: [UInt8] = []
    let badAAD = key.withUnsafeBytes { k in
        otherAAD.withUnsafeBytes { a in
            sealed.withUnsafeBytes { s in
                gcm.open(key: k, nonce: hex(c.iv), aad: a, sealed: s, appendingTo: &out)
            }
        }
    }
    #expect(!badAAD)
}

@Test(arguments: VectorFile<HKDFCase>.load("hkdf"))
func hkdfMatchesRFC5869(_ c: HKDFCase) {
    let okm = hex(c.ikm).withUnsafeBytes {
        HKDF.sha256(ikm: $0, salt: hex(c.salt), info: hex(c.info), length: c.length)
    }
    #expect(Hex.encode(okm.copyBytes()) == c.okm)
}

@Test(arguments: VectorFile<ScryptCase>.load("scrypt"))
func scryptMatchesRFC7914(_ c: ScryptCase) throws {
    let key = try Array(c.password.utf8).withUnsafeBytes {
        try Scrypt.derive(
            password: $0, salt: Array(c.salt.utf8), parameters: .init(n: c.n, r: c.r, p: c.p), length: c.length)
    }
    #expect(Hex.encode(key.copyBytes()) == c.key)
}

@Test func gcmNonceIsCounterLittleEndianAfterFourZeroBytes() {
    #expect(AESGCM.nonce(counter: 0x0102) == [0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0])
}

@Test func secretBytesNeverPrintTheirContent() {
    var raw: [UInt8] = [0x41, 0x42, 0x43]
    let secret = SecretBytes(consuming: &raw)
    #expect(raw == [0, 0, 0], "the source copy is wiped")
    #expect("\(secret)" == "SecretBytes(3 bytes)")
    #expect(secret.copyBytes() == [0x41, 0x42, 0x43])
}

struct HMACCase: Decodable { let key: String, data: String, mac: String }

@Test(arguments: VectorFile<HMACCase>.load("hmac"))
func hmacSHA256MatchesRFC4231(_ c: HMACCase) {
    #expect(Hex.encode(HMAC.sha256(key: hex(c.key), hex(c.data))) == c.mac)
}

/// The EVP_MAC path (one template, duplicated per call) with an empty key and message (a NULL
/// pointer there would make EVP_MAC_init keep the template's missing key) and from many threads
/// at once, each key its own (a copy keyed by another thread would give another MAC).
@Test func hmacSHA256OfEmptyInputsAndFromManyThreads() {
    #expect(Hex.encode(HMAC.sha256(key: [], [])) == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    let keys = (0..<64).map { i in [UInt8](repeating: UInt8(i), count: 20 + i) }
    let serial = keys.map { HMAC.sha256(key: $0, "chainvault") }
    let parallel = try? Parallel.map(keys, workers: 8) { HMAC.sha256(key: $0, "chainvault") }
    #expect(parallel == serial)
    #expect(Set(serial.map(Hex.encode)).count == keys.count)
}
