import Foundation
import Testing
import VaultCore
@_spi(Testing) import VaultRepository
import VaultStorage

/// A 2-of-3 threshold key for the golden repository's master key, committed (Fixtures/threshold-v1).
/// Read twice: once by an independent derivation written from FORMAT.md §2.1 alone, once through
/// the reader, so code and spec cannot drift apart and every future chainvault keeps opening it.
struct GoldenThresholdKeyTests {
    struct Manifest: Decodable {
        let key: String
        let operators: [String: String]
        let passwordOperators: [String]
    }
    let dir = Bundle.module.url(forResource: "Fixtures/threshold-v1", withExtension: nil)!.path
    let golden = Bundle.module.url(forResource: "Fixtures/golden-v1", withExtension: nil)!.path
    var manifest: Manifest {
        try! JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/manifest.json")))
    }

    func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    func goldenMaster() throws -> [UInt8] {
        var key = try bytes(golden + "/key")
        return try Repository.open(
            LocalBackend(path: golden + "/repo"), credential: .keyFile(SecretBytes(consuming: &key))
        ).master.copyBytes()
    }

    /// FORMAT.md §2.1 step by step, from the JSON and the operators' files, with VaultCore's primitives.
    func masterBySpec(_ doc: [String: Any], _ names: [String]) throws -> [UInt8]? {
        let ops = try #require(doc["operators"] as? [[String: Any]])
        let all = ops.map { $0["name"] as! String }
        let m = try #require(doc["threshold"] as? Int)
        let indices = names.map { all.firstIndex(of: $0)! }.sorted()
        var ikm: [UInt8] = []
        for i in indices {
            let op = ops[i], kdf = op["kdf"] as! [String: Any], salt = Hex.decode(op["salt"] as! String)!
            var secret = try bytes(dir + "/" + manifest.operators[all[i]]!)
            if op["kind"] as? String == "password" {
                secret = Array(secret.prefix { $0 != 10 && $0 != 13 })
                func number(_ key: String) -> UInt64 { (kdf[key] as! NSNumber).uint64Value }
                let p = ScryptParameters(n: number("n"), r: number("r"), p: number("p"))
                ikm += try secret.withUnsafeBytes {
                    try Scrypt.derive(password: $0, salt: salt, parameters: p, length: 32)
                }.copyBytes()
            } else {
                while let last = secret.last, [10, 13, 32, 9].contains(last) { secret.removeLast() }
                ikm += secret.withUnsafeBytes {
                    HKDF.sha256(
                        ikm: $0, salt: salt, info: Array("chainvault threshold operator kek v1".utf8), length: 32)
                }.copyBytes()
            }
        }
        // Slots are every ascending M-combination in lexicographic order: for 2 of 3, [0,1] [0,2] [1,2].
        let slots = try #require(doc["slots"] as? [[String: Any]])
        let slot = try #require(slots.first { ($0["operators"] as? [Int]) == indices })
        let label = Array(
            "chainvault threshold slot v1 \(m)-of-\(all.count) \(indices.map { all[$0] }.joined(separator: ","))".utf8)
        let key = ikm.withUnsafeBytes {
            HKDF.sha256(ikm: $0, salt: Hex.decode(doc["salt"] as! String)!, info: label, length: 32)
        }
        let sealed = Hex.decode(slot["data"] as! String)!
        var master: [UInt8] = []
        let ok = key.withUnsafeBytes { k in
            label.withUnsafeBytes { aad in
                sealed.withUnsafeBytes {
                    AESGCM().open(
                        key: k, nonce: Hex.decode(slot["nonce"] as! String)!, aad: aad, sealed: $0, appendingTo: &master
                    )
                }
            }
        }
        return ok ? master : nil
    }

    @Test func theFixturesThresholdKeyFollowsTheSpecAndEveryPairOpensIt() throws {
        let raw = try bytes(dir + "/" + manifest.key)
        #expect(SHA256.hash(raw).hex == manifest.key, "named by the hash of its bytes")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(raw)) as? [String: Any])
        #expect(doc["kind"] as? String == "threshold" && doc["version"] as? Int == 1 && doc["threshold"] as? Int == 2)
        #expect((doc["slots"] as? [[String: Any]])?.map { $0["operators"] as? [Int] ?? [] } == [[0, 1], [0, 2], [1, 2]])
        let master = try goldenMaster()
        let pairs = [["alice", "bob"], ["alice", "carol"], ["bob", "carol"]]
        for pair in pairs { #expect(try masterBySpec(doc, pair) == master, "\(pair) by the spec") }

        // Through the reader: the golden repository with the threshold key added.
        let copy = NSTemporaryDirectory() + "cv-golden-threshold-" + UUID().uuidString.prefix(8)
        try FileManager.default.copyItem(atPath: golden + "/repo", toPath: copy)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try FileManager.default.copyItem(atPath: dir + "/" + manifest.key, toPath: copy + "/keys/" + manifest.key)
        for pair in pairs {
            let keys = try pair.map { name -> OperatorKey in
                var secret = try bytes(dir + "/" + manifest.operators[name]!)
                if manifest.passwordOperators.contains(name) {
                    secret = Array(secret.prefix { $0 != 10 })
                } else {
                    while secret.last == 10 { secret.removeLast() }
                }
                let secretBytes = SecretBytes(consuming: &secret)
                let isPassword = manifest.passwordOperators.contains(name)
                return try OperatorKey(
                    name: name, credential: isPassword ? .password(secretBytes) : .keyFile(secretBytes))
            }
            let repo = try Repository.open(LocalBackend(path: copy), credential: .operators(keys))
            #expect(
                repo.keyID.hex == manifest.key && repo.master.copyBytes() == master && repo.config.version == 1,
                "\(pair)")
        }
        let one = #expect(throws: VaultError.self) {
            var k = try bytes(dir + "/alice.key"); k.removeLast()
            _ = try Repository.open(
                LocalBackend(path: copy),
                credential: .operators([
                    try OperatorKey(name: "alice", credential: .keyFile(SecretBytes(consuming: &k)))
                ]))
        }
        #expect(one?.code == .wrongKey)
    }
}
