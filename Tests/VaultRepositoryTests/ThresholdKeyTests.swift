import Foundation
import Testing
import VaultTestSupport
import VaultCore
@_spi(Testing) import VaultRepository
@_spi(Repository) import VaultStorage

/// Threshold key slots (issue 14): M of N operators' keys open a recovery key; fewer never do.
struct ThresholdKeyTests {
    static let names = ["alice", "bob", "carol"]

    static func operatorKey(_ name: String, _ byte: UInt8) throws -> OperatorKey {
        try OperatorKey(name: name, credential: keyCredential(byte))
    }

    /// A repository with a 2-of-3 threshold key; alice, bob and carol hold key files 1, 2, 3.
    static func repository() throws -> (Repository, MemoryBackend, KeyID) {
        let (repo, backend) = try newRepository()
        let ops = try zip(names, [UInt8(1), 2, 3]).map { try operatorKey($0, $1) }
        let id = try ThresholdKey.add(backend, master: repo.master, threshold: 2, operators: ops.reversed())
        return (repo, backend, id)
    }

    @Test func everyTwoOfThreeOpenAndNoSingleOperatorDoes() throws {
        let (repo, backend, id) = try Self.repository()
        for (a, b) in [(0, 1), (0, 2), (1, 2)] {
            let given = [
                try Self.operatorKey(Self.names[b], UInt8(b + 1)), try Self.operatorKey(Self.names[a], UInt8(a + 1))
            ]
            let opened = try Repository.open(backend, credential: .operators(given))
            #expect(opened.keyID == id && opened.master.copyBytes() == repo.master.copyBytes(), "\(a),\(b)")
        }
        let all = try (0..<3).map { try Self.operatorKey(Self.names[$0], UInt8($0 + 1)) }
        #expect(try Repository.open(backend, credential: .operators(all)).keyID == id)
        for i in 0..<3 {
            let error = #expect(throws: VaultError.self) {
                try Repository.open(
                    backend, credential: .operators([try Self.operatorKey(Self.names[i], UInt8(i + 1))]))
            }
            let others = Self.names.filter { $0 != Self.names[i] }.joined(separator: ", ")
            #expect(error?.code == .wrongKey)
            #expect(
                error?.message == "threshold key \(id.shortHex) needs 2 of its 3 operators (alice, bob, carol); "
                    + "given: \(Self.names[i]); missing: 1 more of \(others)")
        }
    }

    @Test func aChangedKeyEncryptionKeyNeverOpens() throws {
        let (_, backend, id) = try Self.repository()
        let given = [try Self.operatorKey("alice", 1), try Self.operatorKey("bob", 9)]
        let error = #expect(throws: VaultError.self) { try Repository.open(backend, credential: .operators(given)) }
        #expect(error?.code == .wrongKey)
        #expect(
            error?.message == "the operator keys given (alice, bob) do not open threshold key \(id.shortHex): "
                + "at least one of them is wrong")
        // With a third, right key the right pair among the three still opens.
        let three = given + [try Self.operatorKey("carol", 3)]
        #expect(try Repository.open(backend, credential: .operators(three)).keyID == id)
    }

    @Test func unknownDuplicateAndWrongKindOperatorsAreNamed() throws {
        let (_, backend, id) = try Self.repository()
        let unknown = #expect(throws: VaultError.self) {
            try Repository.open(
                backend, credential: .operators([try Self.operatorKey("alice", 1), try Self.operatorKey("dave", 4)]))
        }
        #expect(unknown?.code == .wrongKey)
        #expect(
            unknown?.message == "dave is not an operator of threshold key \(id.shortHex), "
                + "which needs 2 of its 3 operators (alice, bob, carol)")
        let twice = #expect(throws: VaultError.self) {
            try Repository.open(
                backend, credential: .operators([try Self.operatorKey("bob", 2), try Self.operatorKey("bob", 2)]))
        }
        #expect(twice?.code == .usage && twice?.message == "operator bob is given more than once")
        var pass = Array("bob's passphrase".utf8)
        let kind = #expect(throws: VaultError.self) {
            try Repository.open(
                backend,
                credential: .operators([
                    try Self.operatorKey("alice", 1),
                    try OperatorKey(name: "bob", credential: .password(SecretBytes(consuming: &pass)))
                ]))
        }
        #expect(kind?.code == .wrongKey)
        #expect(kind?.message.contains("operator bob of threshold key \(id.shortHex) holds a key file") == true)
        #expect(throws: VaultError.self) { try OperatorKey(name: "a,b", credential: keyCredential(1)) }
    }

    @Test func anOrdinaryKeyOpensBesideAThresholdKeyWithoutWarnings() throws {
        let (_, backend, id) = try Self.repository()
        let opened = try Repository.open(backend, credential: keyCredential())
        #expect(opened.openWarnings.isEmpty && opened.keyID != id)
        let listed = try #require(try KeyRing.list(backend).first { $0.id == id.hex })
        #expect(listed.kind == "threshold" && listed.threshold == 2 && listed.operators == Self.names)
        // A wrong ordinary key does not count the threshold key as damaged either.
        let error = #expect(throws: VaultError.self) { try Repository.open(backend, credential: keyCredential(8)) }
        #expect(error?.message.contains("damaged") == false)
    }

    @Test func sizesAndBoundsAreTheDocumentedOnes() throws {
        let (repo, backend) = try newRepository()
        let eight = try (0..<8).map { try Self.operatorKey("op\($0)", UInt8(10 + $0)) }
        let id = try ThresholdKey.add(backend, master: repo.master, threshold: 4, operators: eight)
        let bytes = try backend.read(ObjectHandle(.key, id.hex))
        #expect(bytes.count < ObjectLimits.maximum(.key), "70 slots fit a key object: \(bytes.count) bytes")
        #expect(ThresholdKey.slotCount(8, 4) == 70)
        let opened = try Repository.open(backend, credential: .operators([eight[7], eight[0], eight[3], eight[5]]))
        #expect(opened.keyID == id)
        let nine = eight + [try Self.operatorKey("op8", 30)]
        #expect(
            (#expect(throws: VaultError.self) {
                try ThresholdKey.add(backend, master: repo.master, threshold: 2, operators: nine)
            })?.code == .usage)
        #expect(throws: VaultError.self) {
            try ThresholdKey.add(backend, master: repo.master, threshold: 3, operators: Array(eight[0..<2]))
        }
        let same = [try Self.operatorKey("x", 1), try Self.operatorKey("y", 1)]
        let shared = #expect(throws: VaultError.self) {
            try ThresholdKey.add(backend, master: repo.master, threshold: 1, operators: same)
        }
        #expect(shared?.message == "operators x and y were given the same secret")
    }
}
