import Foundation
import VaultCore

extension ThresholdKey {
    /// Opens the first threshold key that `given` satisfies. Fewer than M operators never open a
    /// key: no slot exists for fewer. When a slot does not authenticate, nothing says which of the
    /// keys was wrong: a per-operator check value would let each operator's passphrase be guessed
    /// on its own, offline, instead of M of them together (FORMAT.md §2.1).
    static func open(
        _ keys: [(name: String, bytes: [UInt8])], _ given: [OperatorKey], location: String,
        damaged: [String]
    ) throws -> (SecretBytes, KeyID) {
        try OperatorKey.checkDistinct(given)
        var reasons: [String] = []
        var found = false
        for key in keys where isThreshold(key.bytes) {
            found = true
            let id = "threshold key \(key.name.prefix(8))"
            guard let doc = try? JSONDecoder().decode(ThresholdDocument.self, from: Data(key.bytes)) else {
                reasons.append("\(id) is damaged (not a valid threshold key document)"); continue
            }
            if let why = rejection(doc) { reasons.append("\(id) is damaged (\(why))"); continue }
            do {
                if let master = try open(doc, given, id: id, reasons: &reasons) {
                    return (master, try KeyRing.keyID(key.name))
                }
            } catch let error as VaultError {
                reasons.append("\(id) is damaged (\(error.message))")
            }
        }
        guard found else {
            throw VaultError(
                .wrongKey,
                "the repository at \(location) has no threshold key, "
                    + "and operator keys (--operator-key, --operator-password) open only a threshold key",
                hint: "open it with --key-file or --password-file; create a threshold key with "
                    + "'chainvault key add-threshold'")
        }
        var message = reasons.joined(separator: "; ")
        if !damaged.isEmpty {
            message +=
                " (\(damaged.count) key file(s) are damaged: "
                + damaged.map { String($0.prefix(8)) }.joined(separator: ", ") + ")"
        }
        throw VaultError(
            .wrongKey, message,
            hint: "give --operator-key NAME=FILE (or --operator-password NAME=FILE) for M different "
                + "operators of the key; 'chainvault key list' shows each threshold key's operators")
    }

    /// nil when `given` does not open `doc`, with the reason appended.
    private static func open(
        _ doc: ThresholdDocument, _ given: [OperatorKey], id: String,
        reasons: inout [String]
    ) throws -> SecretBytes? {
        let names = doc.operators.map(\.name)
        let all = "\(doc.threshold) of its \(names.count) operators (\(names.joined(separator: ", ")))"
        let unknown = given.map(\.name).filter { !names.contains($0) }
        guard unknown.isEmpty else {
            reasons.append(
                "\(unknown.joined(separator: ", ")) \(unknown.count == 1 ? "is not an operator" : "are not operators") "
                    + "of \(id), which needs \(all)")
            return nil
        }
        let indices = given.map { g in names.firstIndex(of: g.name)! }
        for (g, i) in zip(given, indices) where g.credential.kind != doc.operators[i].kind {
            let holds =
                doc.operators[i].kind == "password"
                ? "a passphrase (--operator-password)" : "a key file (--operator-key)"
            reasons.append("operator \(g.name) of \(id) holds \(holds), but was given as the other kind")
            return nil
        }
        guard given.count >= doc.threshold else {
            let missing = names.filter { n in !given.contains { $0.name == n } }
            let more = doc.threshold - given.count
            reasons.append(
                "\(id) needs \(all); given: \(given.map(\.name).joined(separator: ", ")); "
                    + "missing: \(more) more of \(missing.joined(separator: ", "))")
            return nil
        }
        guard let salt = Hex.decode(doc.salt) else { throw VaultError(.corrupt, "malformed salt") }
        // KEKs in operator order, so each combination of the given ones is a slot's combination.
        let order = zip(given, indices).sorted { $0.1 < $1.1 }
        let keks = try order.map { try operatorKEK(doc.operators[$0.1], $0.0.credential) }
        let slotIndex = Dictionary(
            uniqueKeysWithValues: combinations(names.count, doc.threshold).enumerated().map { ($1, $0) })
        for combo in combinations(order.count, doc.threshold) {
            let opIndices = combo.map { order[$0].1 }
            let slot = doc.slots[slotIndex[opIndices]!]
            let label = label(threshold: doc.threshold, of: names.count, names: opIndices.map { names[$0] })
            let key = slotKey(combo.map { keks[$0] }, salt: salt, label: label)
            guard let nonce = Hex.decode(slot.nonce), let sealed = Hex.decode(slot.data) else {
                throw VaultError(.corrupt, "slot \(opIndices) is malformed")
            }
            var master: [UInt8] = []
            let ok = key.withUnsafeBytes { k in
                label.withUnsafeBytes { aad in
                    sealed.withUnsafeBytes {
                        AESGCM().open(key: k, nonce: nonce, aad: aad, sealed: $0, appendingTo: &master)
                    }
                }
            }
            if ok, master.count == 32 { return SecretBytes(consuming: &master) }
            wipe(&master)
        }
        reasons.append(
            "the operator keys given (\(order.map(\.0.name).joined(separator: ", "))) do not open \(id): "
                + "at least one of them is wrong")
        return nil
    }

    /// Why a document breaks FORMAT.md §2.1's rules, nil when it keeps them: checked before any
    /// derivation, so a planted document costs no more than an ordinary key (section 2's bounds).
    static func rejection(_ doc: ThresholdDocument) -> String? {
        let n = doc.operators.count
        guard doc.version == 1 else { return "version \(doc.version)" }
        guard (2...maximumOperators).contains(n) else { return "\(n) operators, not 2 to \(maximumOperators)" }
        guard (1...n).contains(doc.threshold) else { return "threshold \(doc.threshold) of \(n)" }
        guard Hex.decode(doc.salt)?.count == 32 else { return "malformed salt" }
        let names = doc.operators.map { Array($0.name.utf8) }
        for i in 1..<n where !names[i - 1].lexicographicallyPrecedes(names[i]) {
            return "operator names are not distinct and sorted"
        }
        for op in doc.operators {
            guard OperatorKey.isValidName(op.name) else { return "invalid operator name" }
            guard Hex.decode(op.salt)?.count == 32 else { return "operator \(op.name) has a malformed salt" }
            switch (op.kind, op.kdf.name) {
            case ("password", "scrypt"):
                let p = ScryptParameters(n: op.kdf.n ?? 0, r: op.kdf.r ?? 0, p: op.kdf.p ?? 0)
                if let why = p.rejection { return "operator \(op.name)'s scrypt parameters: \(why)" }
            case ("keyfile", "hkdf-sha256"): break
            default: return "operator \(op.name) has kind \(op.kind) with kdf \(op.kdf.name)"
            }
        }
        let expected = combinations(n, doc.threshold)
        guard doc.slots.map(\.operators) == expected else {
            return "its slots are not the \(expected.count) combinations in order"
        }
        for slot in doc.slots {
            guard Hex.decode(slot.nonce)?.count == 12, Hex.decode(slot.data)?.count == 48 else {
                return "a slot is malformed"
            }
        }
        return nil
    }
}
