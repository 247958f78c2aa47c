import Foundation
import VaultCore
@_spi(Repository) import VaultStorage

/// A wrapped master key, stored as JSON in `keys/<id>` where id is the SHA-256 of the file's
/// bytes (tampering is visible without any key).
struct KeyDocument: Codable {
    struct KDF: Codable {
        var name: String  // "scrypt" or "hkdf-sha256"
        var n: UInt64?
        var r: UInt64?
        var p: UInt64?
    }
    var version: Int
    var kind: String  // "password" or "keyfile"
    var created: String
    var hostname: String
    var username: String
    var kdf: KDF
    var salt: String  // hex, 32 bytes
    var nonce: String  // hex, 12 bytes
    var data: String  // hex: AES-256-GCM(kek, nonce, aad, master key) || tag
}

public struct KeyInfo: Sendable {
    public let id: String
    public let kind: String
    public let created: String
    public let hostname: String
    public let username: String
    /// For a threshold key: M, and its operators' names (empty otherwise).
    public var threshold: Int? = nil
    public var operators: [String] = []
}

/// Adds, opens, lists and removes the key files of a repository.
public enum KeyRing {
    static let aadPrefix = "chainvault key v1 "
    static let keyFileInfo = Array("chainvault keyfile kek v1".utf8)

    static func kek(_ credential: Credential, _ doc: KeyDocument) throws -> SecretBytes {
        guard let salt = Hex.decode(doc.salt), salt.count == 32 else {
            throw VaultError(.corrupt, "key file has a malformed salt")
        }
        return try deriveKEK(credential, kdf: doc.kdf, salt: salt, keyFileInfo: keyFileInfo)
    }

    /// A passphrase's scrypt or a key file's HKDF, as the key's `kdf` says; shared by ordinary keys
    /// and each operator of a threshold key (which uses its own `keyFileInfo` label).
    static func deriveKEK(
        _ credential: Credential, kdf: KeyDocument.KDF, salt: [UInt8],
        keyFileInfo: [UInt8]
    ) throws -> SecretBytes {
        switch credential {
        case .password(let secret):
            guard kdf.name == "scrypt", let n = kdf.n, let r = kdf.r, let p = kdf.p else {
                throw VaultError(.corrupt, "key file has invalid scrypt parameters")
            }
            let parameters = ScryptParameters(n: n, r: r, p: p)
            if let why = parameters.rejection {
                throw VaultError(.corrupt, "key file has scrypt parameters chainvault never writes (\(why))")
            }
            return try secret.withUnsafeBytes {
                try Scrypt.derive(password: $0, salt: salt, parameters: parameters, length: 32)
            }
        case .keyFile(let secret):
            return secret.withUnsafeBytes { HKDF.sha256(ikm: $0, salt: salt, info: keyFileInfo, length: 32) }
        case .operators:
            throw VaultError(.wrongKey, "operator keys open only a threshold key")
        }
    }

    static func wrap(
        _ master: SecretBytes, _ credential: Credential,
        scrypt: ScryptParameters = .standard
    ) throws -> [UInt8] {
        if case .operators = credential {
            throw VaultError(
                .usage, "operator keys open a threshold key; they cannot be a new repository's or key's credential",
                hint: "give --key-file or --password-file; 'chainvault key add-threshold' makes a threshold key")
        }
        var doc = KeyDocument(
            version: 1, kind: credential.kind, created: Timestamp.now(),
            hostname: ProcessInfo.processInfo.hostName, username: currentUser(),
            kdf: .init(name: credential.kind == "password" ? "scrypt" : "hkdf-sha256"),
            salt: Hex.encode(SecureRandom.bytes(32)), nonce: Hex.encode(SecureRandom.bytes(12)), data: "")
        if credential.kind == "password" { doc.kdf.n = scrypt.n; doc.kdf.r = scrypt.r; doc.kdf.p = scrypt.p }
        let key = try kek(credential, doc)
        var sealed: [UInt8] = []
        key.withUnsafeBytes { k in
            Array((aadPrefix + doc.kind).utf8).withUnsafeBytes { aad in
                master.withUnsafeBytes { m in
                    AESGCM().seal(key: k, nonce: Hex.decode(doc.nonce)!, aad: aad, plaintext: m, appendingTo: &sealed)
                }
            }
        }
        doc.data = Hex.encode(sealed)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array(try encoder.encode(doc))
    }

    /// nil when the credential is not the one this key was made with.
    static func unwrap(_ bytes: [UInt8], _ credential: Credential, id: String) throws -> SecretBytes? {
        // A threshold key (ThresholdKey.swift) has another layout and opens only with operator keys.
        if ThresholdKey.isThreshold(bytes) { return nil }
        guard let doc = try? JSONDecoder().decode(KeyDocument.self, from: Data(bytes)) else {
            throw VaultError(
                .corrupt, "key file keys/\(id) is not valid JSON",
                hint: "it was damaged; open the repository with another key, then remove this one")
        }
        guard doc.kind == credential.kind else { return nil }
        guard let nonce = Hex.decode(doc.nonce), nonce.count == 12, let sealed = Hex.decode(doc.data) else {
            throw VaultError(.corrupt, "key file keys/\(id) is malformed")
        }
        let key = try kek(credential, doc)
        var master: [UInt8] = []
        let ok = key.withUnsafeBytes { k in
            Array((aadPrefix + doc.kind).utf8).withUnsafeBytes { aad in
                sealed.withUnsafeBytes { s in
                    AESGCM().open(key: k, nonce: nonce, aad: aad, sealed: s, appendingTo: &master)
                }
            }
        }
        guard ok, master.count == 32 else { wipe(&master); return nil }
        return SecretBytes(consuming: &master)
    }

    /// Stores a new key file for `master`; returns its id.
    @discardableResult
    public static func add(
        _ backend: Backend, master: SecretBytes, credential: Credential,
        scrypt: ScryptParameters = .standard
    ) throws -> KeyID {
        let bytes = try wrap(master, credential, scrypt: scrypt)
        let id = KeyID(SHA256.hash(bytes))
        try backend.write(ObjectHandle(.key, id.hex), bytes)
        return id
    }

    /// Tries every key file, cheapest derivation first; returns the master key and the id of the
    /// key that opened it. A key file that is damaged, too large, or asks for a derivation outside
    /// the bounds is skipped with a warning (`warn`): planted ones must not stop the real key.
    public static func open(
        _ backend: Backend, credential: Credential,
        warn: (String) -> Void = { _ in }
    ) throws -> (SecretBytes, KeyID) {
        let keys = try backend.list(.key)
        guard !keys.isEmpty else {
            throw VaultError(
                .notARepository, "\(backend.location) has no key files",
                hint: "this is not a chainvault repository, or its keys/ directory was lost")
        }
        var damaged: [String] = []
        var candidates: [(name: String, bytes: [UInt8], cost: UInt64)] = []
        for info in keys.sorted(by: { $0.name < $1.name }) {
            do {
                try ObjectLimits.check(ObjectHandle(.key, info.name), size: info.size, location: backend.location)
                // A key file whose bytes do not match its name is read again before it counts as
                // damaged: one flipped bit on the way must not turn into "wrong key".
                let (bytes, intact) = try Reread.read(backend, ObjectHandle(.key, info.name)) {
                    SHA256.hash($0).hex == info.name
                }
                guard intact else { throw VaultError(.corrupt, "its bytes do not match its name") }
                if let why = scryptRejection(bytes) {
                    throw VaultError(.corrupt, "its scrypt parameters are outside what chainvault writes (\(why))")
                }
                candidates.append((info.name, bytes, cost(bytes)))
            } catch let error as VaultError where error.code == .corrupt || error.code == .unsafeInput {
                damaged.append(info.name)
                warn("skipped damaged key file keys/\(info.name.prefix(8)): \(error.message)")
            }
        }
        if case .operators(let given) = credential {
            return try ThresholdKey.open(
                candidates.map { ($0.name, $0.bytes) }, given, location: backend.location,
                damaged: damaged)
        }
        for key in candidates.sorted(by: { ($0.cost, $0.name) < ($1.cost, $1.name) }) {
            do {
                if let master = try unwrap(key.bytes, credential, id: key.name) { return (master, try keyID(key.name)) }
            } catch let error as VaultError {
                damaged.append(key.name)
                warn("skipped damaged key file keys/\(key.name.prefix(8)): \(error.message)")
            }
        }
        var message =
            "wrong \(credential.kind == "password" ? "passphrase" : "key file"): no key of the repository at \(backend.location) opens with it"
        if !damaged.isEmpty {
            message +=
                " (\(damaged.count) key file(s) are damaged: \(damaged.map { String($0.prefix(8)) }.joined(separator: ", ")))"
        }
        throw VaultError(
            .wrongKey, message,
            hint:
                "check --password-file/--key-file (or CHAINVAULT_PASSWORD_FILE, CHAINVAULT_KEY_FILE, $CREDENTIALS_DIRECTORY/chainvault.key); 'chainvault key list' with a working key shows the keys"
        )
    }

    /// Why a passphrase key's scrypt parameters are out of bounds, nil when they are not (or it is
    /// no passphrase key): judged for every key file, tried or not, so a planted one is reported.
    static func scryptRejection(_ bytes: [UInt8]) -> String? {
        guard let doc = try? JSONDecoder().decode(KeyDocument.self, from: Data(bytes)), doc.kdf.name == "scrypt" else {
            return nil
        }
        return ScryptParameters(n: doc.kdf.n ?? 0, r: doc.kdf.r ?? 0, p: doc.kdf.p ?? 0).rejection
    }

    /// The derivation work a key file asks for (0 for key files, which use HKDF), to try cheap ones
    /// first; a document that does not parse costs nothing to reject.
    static func cost(_ bytes: [UInt8]) -> UInt64 {
        guard let doc = try? JSONDecoder().decode(KeyDocument.self, from: Data(bytes)), doc.kdf.name == "scrypt" else {
            return 0
        }
        let (n, r, p) = (doc.kdf.n ?? 0, doc.kdf.r ?? 0, doc.kdf.p ?? 0)
        let (nr, o1) = n.multipliedReportingOverflow(by: r)
        let (all, o2) = nr.multipliedReportingOverflow(by: p)
        return o1 || o2 ? .max : all
    }

    public static func list(_ backend: Backend) throws -> [KeyInfo] {
        try backend.list(.key).map { info in
            // A key file's name is the SHA-256 of its bytes: one damaged read is read again before
            // the key is shown as damaged, as when a key opens the repository.
            let (bytes, intact) = try Reread.read(backend, ObjectHandle(.key, info.name)) {
                SHA256.hash($0).hex == info.name
            }
            guard intact else {
                return KeyInfo(id: info.name, kind: "damaged", created: "", hostname: "", username: "")
            }
            if ThresholdKey.isThreshold(bytes) {
                guard let doc = try? JSONDecoder().decode(ThresholdDocument.self, from: Data(bytes)) else {
                    return KeyInfo(id: info.name, kind: "damaged", created: "", hostname: "", username: "")
                }
                return KeyInfo(
                    id: info.name, kind: doc.kind, created: doc.created, hostname: doc.hostname,
                    username: doc.username, threshold: doc.threshold, operators: doc.operators.map(\.name))
            }
            guard let doc = try? JSONDecoder().decode(KeyDocument.self, from: Data(bytes)) else {
                return KeyInfo(id: info.name, kind: "damaged", created: "", hostname: "", username: "")
            }
            return KeyInfo(
                id: info.name, kind: doc.kind, created: doc.created, hostname: doc.hostname, username: doc.username)
        }.sorted { $0.created < $1.created }
    }

    /// Removes a key; refuses to remove the last one (the repository would be lost) or the one in use.
    /// The id of a key file that opened: its bytes matched its name, so the name is an id.
    static func keyID(_ name: String) throws -> KeyID {
        guard let id = KeyID(hex: name) else {
            throw VaultError(.corrupt, "key file keys/\(name.prefix(8)) has a name that is not a SHA-256")
        }
        return id
    }

    /// `id`: a key id or unique prefix, as the operator typed it.
    public static func remove(_ backend: Backend, id: String, current: KeyID) throws {
        let keys = try backend.list(.key).map(\.name)
        let matches = keys.filter { $0.hasPrefix(id) }
        guard matches.count == 1, let target = matches.first else {
            throw VaultError(
                .usage, matches.isEmpty ? "no key with id \(id)" : "key id prefix \(id) is ambiguous",
                hint: "see 'chainvault key list'")
        }
        guard keys.count > 1 else {
            throw VaultError(
                .usage, "refusing to remove the last key: the repository could never be opened again",
                hint: "add another key first with 'chainvault key add'")
        }
        guard target != current.hex else {
            throw VaultError(
                .usage, "refusing to remove key \(target.prefix(8)), the one this command opened the repository with",
                hint: "open the repository with another key to remove this one")
        }
        try backend.delete(ObjectHandle(.key, target))
    }
}

func currentUser() -> String {
    ProcessInfo.processInfo.environment["USER"] ?? String(getuid())
}
