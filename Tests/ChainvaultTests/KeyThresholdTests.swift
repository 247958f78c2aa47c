import Foundation
import Testing
import VaultCore

/// Threshold key slots through the binary (issue 14): a repository gets a 2-of-3 recovery key;
/// every pair of operators opens it, one operator never does, a changed key never does, and
/// wrong, missing and duplicate operators are named.
struct KeyThresholdTests {
    /// alice and carol hold key files, bob a passphrase.
    func ceremony() throws -> (Workspace, String) {
        let w = try Workspace()
        try w.write("alice.key", Array((String(repeating: "a1", count: 32) + "\n").utf8), mode: 0o600)
        try w.write("bob.pass", Array("bob's long passphrase\n".utf8), mode: 0o600)
        try w.write("carol.key", Array((String(repeating: "c3", count: 32) + "\n").utf8), mode: 0o600)
        try w.ok(["init"])
        try w.ok(["demo", "--generate", w.path("node"), "--size", "1M"])
        try w.ok(["backup", w.path("node")])
        let added = try w.ok([
            "key", "add-threshold", "--threshold", "2", "--new-operator-key", "carol=" + w.path("carol.key"),
            "--new-operator-key", "alice=" + w.path("alice.key"),
            "--new-operator-password", "bob=" + w.path("bob.pass"), "--json"
        ])
        let id = try #require(added.json["added"] as? String)
        #expect(added.json["operators"] as? [String] == ["alice", "bob", "carol"] && added.json["slots"] as? Int == 3)
        return (w, id)
    }

    func args(_ w: Workspace, _ names: [String]) -> [String] {
        names.flatMap {
            $0 == "bob"
                ? ["--operator-password", "bob=" + w.path("bob.pass")]
                : ["--operator-key", "\($0)=" + w.path("\($0).key")]
        }
    }

    @Test func everyPairOfTwoOfThreeOperatorsOpensTheRepositoryAndOneNeverDoes() throws {
        let (w, id) = try ceremony()
        // No ordinary key is around during the ceremony: only the operators' keys.
        let env = ["CHAINVAULT_KEY_FILE": ""]
        for pair in [["alice", "bob"], ["alice", "carol"], ["carol", "bob"]] {
            let r = try w.run(
                ["restore", "latest", "--target", w.path("out-" + pair.joined())] + args(w, pair), env: env)
            #expect(r.code == 0, "\(pair): \(r.stderr)")
            #expect(try treeDifferences(w.path("node"), w.path("out-" + pair.joined())).isEmpty, "\(pair)")
        }
        for one in ["alice", "bob", "carol"] {
            let r = try w.run(["snapshots"] + args(w, [one]), env: env)
            let others = ["alice", "bob", "carol"].filter { $0 != one }.joined(separator: ", ")
            #expect(r.code == 11, "\(one): \(r.code) \(r.stderr)")
            #expect(
                r.stderr.contains(
                    "threshold key \(id.prefix(8)) needs 2 of its 3 operators (alice, bob, carol); "
                        + "given: \(one); missing: 1 more of \(others)"), "\(r.stderr)")
        }
        let listed = try w.ok(["key", "list"])
        #expect(
            listed.stdout.contains("2-of-3") && listed.stdout.contains("threshold: alice, bob, carol"),
            "\(listed.stdout)")
    }

    @Test func aChangedKeyAWrongNameADuplicateAndAMixedUpKindAreClearErrors() throws {
        let (w, id) = try ceremony()
        let env = ["CHAINVAULT_KEY_FILE": ""]
        try w.write("carol2.key", Array((String(repeating: "c4", count: 32) + "\n").utf8), mode: 0o600)
        let changed = try w.run(
            [
                "snapshots", "--operator-key", "alice=" + w.path("alice.key"),
                "--operator-key", "carol=" + w.path("carol2.key")
            ], env: env)
        #expect(changed.code == 11, "\(changed.stderr)")
        #expect(
            changed.stderr.contains(
                "the operator keys given (alice, carol) do not open threshold key \(id.prefix(8)): "
                    + "at least one of them is wrong"), "\(changed.stderr)")
        let unknown = try w.run(
            ["snapshots", "--operator-key", "dave=" + w.path("carol.key")] + args(w, ["alice"]), env: env)
        #expect(
            unknown.code == 11 && unknown.stderr.contains("dave is not an operator of threshold key"),
            "\(unknown.stderr)")
        let twice = try w.run(["snapshots"] + args(w, ["alice", "alice"]), env: env)
        #expect(twice.code == 2 && twice.stderr.contains("operator alice is given more than once"), "\(twice.stderr)")
        let kind = try w.run(
            ["snapshots", "--operator-key", "bob=" + w.path("carol.key")] + args(w, ["alice"]), env: env)
        #expect(
            kind.code == 11 && kind.stderr.contains("operator bob of threshold key \(id.prefix(8)) holds a passphrase"),
            "\(kind.stderr)")
        // Operator keys never open an ordinary key, and an ordinary key never tries the threshold key.
        let both = try w.run(["snapshots", "--key-file", w.key] + args(w, ["alice", "bob"]))
        #expect(both.code == 2, "\(both.stderr)")
        let plain = try w.run(["snapshots"])
        #expect(plain.code == 0 && !plain.stderr.contains("damaged"), "\(plain.stderr)")
        let badName = try w.run(["snapshots", "--operator-key", "a,b=" + w.path("alice.key")], env: env)
        #expect(badName.code == 2 && badName.stderr.contains("operator name 'a,b'"), "\(badName.stderr)")
    }

    @Test func aCeremonyOpensWithTwoOperatorsAndAddsANewKey() throws {
        let (w, _) = try ceremony()
        try w.write("new.key", SecureRandom.bytes(32), mode: 0o600)
        try w.ok(["key", "add", "--new-key-file", w.path("new.key")] + args(w, ["bob", "carol"]))
        let r = try w.run(["snapshots"], env: ["CHAINVAULT_KEY_FILE": w.path("new.key")])
        #expect(r.code == 0, "\(r.stderr)")
    }
}
