import Foundation
import VaultCore
@_spi(Repository) import VaultStorage

/// A key that opens the repository only with M of its N operators' keys, for a recovery ceremony
/// (FORMAT.md §2.1). Built from OpenSSL primitives alone, no secret sharing over a hand-written
/// field: each operator's passphrase or key file gives a key-encryption key exactly as an ordinary
/// key does (scrypt or HKDF, own salt), and for every M-sized combination of operators the master
/// key is wrapped with AES-256-GCM under HKDF-SHA256 of those M KEKs concatenated in operator
/// order, labelled with the slot. C(N, M) slots in one `keys/<id>` object.
struct ThresholdDocument: Codable {
    struct Operator: Codable {
        var name: String
        var kind: String  // "password" or "keyfile"
        var kdf: KeyDocument.KDF
        var salt: String  // hex, 32 bytes
    }
    struct Slot: Codable {
        var operators: [Int]  // ascending indices into `operators`
        var nonce: String  // hex, 12 bytes
        var data: String  // hex: AES-256-GCM(slot key, nonce, label, master key) || tag
    }
    var version: Int
    var kind: String  // "threshold"
    var created: String
    var hostname: String
    var username: String
    var threshold: Int
    var salt: String  // hex, 32 bytes: the slots' HKDF salt
    var operators: [Operator]  // sorted by name (bytes), names distinct
    var slots: [Slot]  // every M-combination, in lexicographic order of indices
}

public enum ThresholdKey {
    /// At most 8 operators: C(8, 4) = 70 slots is the largest object (about 12 KiB, well inside
    /// the 64 KiB a key object may be, ObjectLimits), and creation needs every operator present.
    public static let maximumOperators = 8
    static let operatorInfo = Array("chainvault threshold operator kek v1".utf8)

    /// The slot's HKDF info and GCM associated data: names the slot, so a slot's data cannot be
    /// moved to another combination or another M-of-N.
    static func label(threshold: Int, of count: Int, names: [String]) -> [UInt8] {
        Array("chainvault threshold slot v1 \(threshold)-of-\(count) \(names.joined(separator: ","))".utf8)
    }

    static func isThreshold(_ bytes: [UInt8]) -> Bool {
        struct Peek: Decodable { var kind: String }
        return (try? JSONDecoder().decode(Peek.self, from: Data(bytes)))?.kind == "threshold"
    }

    /// Every M-sized subset of 0..<n, each ascending, in lexicographic order.
    static func combinations(_ n: Int, _ m: Int) -> [[Int]] {
        guard m >= 1, m <= n else { return [] }
        var result: [[Int]] = [], current = Array(0..<m)
        while true {
            result.append(current)
            var i = m - 1
            while i >= 0 && current[i] == n - m + i { i -= 1 }
            if i < 0 { return result }
            current[i] += 1
            for j in (i + 1)..<m { current[j] = current[j - 1] + 1 }
        }
    }

    /// HKDF-SHA256 over the slot's KEKs concatenated in operator order.
    static func slotKey(_ keks: [SecretBytes], salt: [UInt8], label: [UInt8]) -> SecretBytes {
        var ikm: [UInt8] = []
        ikm.reserveCapacity(32 * keks.count)
        for k in keks { k.withUnsafeBytes { ikm.append(contentsOf: $0) } }
        defer { wipe(&ikm) }
        return ikm.withUnsafeBytes { HKDF.sha256(ikm: $0, salt: salt, info: label, length: 32) }
    }

    static func operatorKEK(_ op: ThresholdDocument.Operator, _ credential: Credential) throws -> SecretBytes {
        guard let salt = Hex.decode(op.salt), salt.count == 32 else {
            throw VaultError(.corrupt, "operator \(op.name) has a malformed salt")
        }
        return try KeyRing.deriveKEK(credential, kdf: op.kdf, salt: salt, keyFileInfo: operatorInfo)
    }

    /// The key object for `master`, openable by any `threshold` of `operators`.
    static func wrap(
        _ master: SecretBytes, threshold: Int, operators: [OperatorKey],
        scrypt: ScryptParameters = .standard
    ) throws -> [UInt8] {
        try OperatorKey.checkDistinct(operators)
        guard (2...maximumOperators).contains(operators.count) else {
            throw VaultError(
                .usage, "a threshold key needs 2 to \(maximumOperators) operators, got \(operators.count)",
                hint: "more operators make C(N, M) slots: at most \(maximumOperators) keep the key object small")
        }
        guard (1...operators.count).contains(threshold) else {
            throw VaultError(
                .usage, "--threshold \(threshold) must be from 1 to the number of operators (\(operators.count))")
        }
        let sorted = operators.sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
        let docOps = sorted.map { op in
            ThresholdDocument.Operator(
                name: op.name, kind: op.credential.kind,
                kdf: op.credential.kind == "password"
                    ? .init(name: "scrypt", n: scrypt.n, r: scrypt.r, p: scrypt.p)
                    : .init(name: "hkdf-sha256"),
                salt: Hex.encode(SecureRandom.bytes(32)))
        }
        let keks = try zip(docOps, sorted).map { try operatorKEK($0, $1.credential) }
        try refuseSharedSecrets(keks, sorted)
        let salt = SecureRandom.bytes(32)
        let names = sorted.map(\.name)
        let slots = combinations(sorted.count, threshold).map { combo -> ThresholdDocument.Slot in
            let label = label(threshold: threshold, of: sorted.count, names: combo.map { names[$0] })
            let key = slotKey(combo.map { keks[$0] }, salt: salt, label: label)
            let nonce = SecureRandom.bytes(12)
            var sealed: [UInt8] = []
            key.withUnsafeBytes { k in
                label.withUnsafeBytes { aad in
                    master.withUnsafeBytes {
                        AESGCM().seal(key: k, nonce: nonce, aad: aad, plaintext: $0, appendingTo: &sealed)
                    }
                }
            }
            return .init(operators: combo, nonce: Hex.encode(nonce), data: Hex.encode(sealed))
        }
        let doc = ThresholdDocument(
            version: 1, kind: "threshold", created: Timestamp.now(),
            hostname: ProcessInfo.processInfo.hostName, username: currentUser(),
            threshold: threshold, salt: Hex.encode(salt), operators: docOps, slots: slots)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array(try encoder.encode(doc))
    }

    /// Two operators holding the same passphrase or key file would be one person counted twice.
    static func refuseSharedSecrets(_ keks: [SecretBytes], _ ops: [OperatorKey]) throws {
        func secret(_ c: Credential) -> [UInt8] {
            switch c {
            case .password(let s), .keyFile(let s): return s.copyBytes()
            case .operators: return []
            }
        }
        for i in ops.indices {
            for j in ops.indices where j > i {
                var a = secret(ops[i].credential), b = secret(ops[j].credential)
                defer { wipe(&a); wipe(&b) }
                if constantTimeEqual(a, b) {
                    throw VaultError(
                        .usage, "operators \(ops[i].name) and \(ops[j].name) were given the same secret",
                        hint: "each operator needs their own passphrase or key file "
                            + "('chainvault key generate --output FILE')")
                }
            }
        }
    }

    /// Stores a new threshold key for `master`; returns its id.
    public static func add(
        _ backend: Backend, master: SecretBytes, threshold: Int, operators: [OperatorKey],
        scrypt: ScryptParameters = .standard
    ) throws -> KeyID {
        let bytes = try wrap(master, threshold: threshold, operators: operators, scrypt: scrypt)
        let id = KeyID(SHA256.hash(bytes))
        try backend.write(ObjectHandle(.key, id.hex), bytes)
        return id
    }
}

extension ThresholdKey {
    /// C(n, m): the number of slots a threshold key of m of n operators holds.
    public static func slotCount(_ n: Int, _ m: Int) -> Int { combinations(n, m).count }
}
