import Foundation
import Testing
import VaultDaemon

let validPolicy = """
    {
      "name": "bitcoind",
      "source": "/var/lib/bitcoind",
      "exclude": ["LOCK", "*.log"],
      "consistency": { "mode": "two-phase", "pre": ["systemctl", "stop", "bitcoind"], "post": ["systemctl", "start", "bitcoind"], "timeoutSeconds": 300 },
      "schedule": { "every": "6h", "jitter": "10m" },
      "retention": { "keepLast": 4, "keepDaily": 7 },
      "verify": { "every": "24h", "readAllWithinDays": 30 },
      "rpo": "8h",
      "protect": []
    }
    """

func check(_ text: String) -> (Policy?, [PolicyProblem]) { PolicyLoader.check(Array(text.utf8)) }

@Test func aValidPolicyLoads() {
    let (policy, problems) = check(validPolicy)
    #expect(problems == [])
    #expect(policy?.retentionPolicy.keepDaily == 7)
}

struct BrokenPolicy: CustomTestStringConvertible, Sendable {
    let label: String, replace: String, with: String, field: String, line: Int?, says: String
    var testDescription: String { label }
}

@Test(arguments: [
    BrokenPolicy(
        label: "typo in a field name", replace: "\"retention\"", with: "\"retension\"", field: "retension", line: 7,
        says: "unknown field"),
    BrokenPolicy(
        label: "typo inside an object", replace: "\"keepDaily\"", with: "\"keepDialy\"", field: "retention.keepDialy",
        line: 7, says: "unknown field"),
    BrokenPolicy(
        label: "wrong type", replace: "\"keepDaily\": 7", with: "\"keepDaily\": \"7\"", field: "retention.keepDaily",
        line: 7, says: "whole number"),
    BrokenPolicy(
        label: "missing field", replace: "\"rpo\": \"8h\",", with: "", field: "rpo", line: nil, says: "missing"),
    BrokenPolicy(
        label: "relative source", replace: "\"/var/lib/bitcoind\"", with: "\"var/lib\"", field: "source", line: 3,
        says: "absolute"),
    BrokenPolicy(
        label: "bad mode", replace: "\"two-phase\"", with: "\"snapshot\"", field: "consistency.mode", line: 5,
        says: "not a mode"),
    BrokenPolicy(
        label: "stop without hooks", replace: "\"pre\": [\"systemctl\", \"stop\", \"bitcoind\"], ", with: "",
        field: "consistency.pre", line: nil, says: "stops the node"),
    BrokenPolicy(
        label: "rpo shorter than the schedule", replace: "\"rpo\": \"8h\"", with: "\"rpo\": \"5h\"", field: "rpo",
        line: 9, says: "late"),
    BrokenPolicy(
        label: "empty retention", replace: "\"keepLast\": 4, \"keepDaily\": 7", with: "", field: "retention", line: 7,
        says: "keeps nothing"),
    BrokenPolicy(
        label: "protect escapes", replace: "\"protect\": []", with: "\"protect\": [\"../etc/passwd\"]",
        field: "protect[0]", line: 10, says: "without '..'"),
    BrokenPolicy(
        label: "bad duration", replace: "\"every\": \"6h\"", with: "\"every\": \"six hours\"", field: "schedule.every",
        line: 6, says: "not a duration")
])
func everyProblemNamesItsFieldAndLine(_ c: BrokenPolicy) {
    let (_, problems) = check(validPolicy.replacingOccurrences(of: c.replace, with: c.with))
    let match = problems.first { $0.field == c.field }
    #expect(match != nil, "\(problems)")
    #expect(match?.message.contains(c.says) == true, "\(problems)")
    if let line = c.line { #expect(match?.line == line, "\(problems)") }
}

@Test func invalidJSONIsAClearProblem() {
    let (policy, problems) = check("{ \"name\": ")
    #expect(policy == nil)
    #expect(problems.first?.message.contains("not valid JSON") == true)
}

/// Every policy shipped in Policies/ must load: they are what operators copy.
@Test func everyShippedPolicyIsValid() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let dir = root.appendingPathComponent("Policies")
    let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }.sorted()
    #expect(
        files == [
            "bitcoind.json", "cometbft.json", "demo.json", "erigon.json", "geth.json", "nethermind.json", "solana.json"
        ])
    for f in files {
        let (policy, problems) = PolicyLoader.check(Array(try Data(contentsOf: dir.appendingPathComponent(f))))
        #expect(problems == [], "\(f): \(problems)")
        #expect(policy?.name == String(f.dropLast(5)), "\(f): the name matches the file")
    }
}

/// `forget --keep-within 1y` was accepted and the same "1y" in a policy refused: one grammar now.
@Test func aPolicyTakesEveryDurationTheCommandLineTakes() {
    let text = validPolicy.replacingOccurrences(
        of: "\"keepDaily\": 7", with: "\"keepDaily\": 7, \"keepWithin\": \"1y\""
    )
    .replacingOccurrences(of: "\"rpo\": \"8h\"", with: "\"rpo\": \"7h30m\"")
    let (policy, problems) = check(text)
    #expect(problems == [])
    #expect(policy?.retentionPolicy.keepWithinSeconds == 31_536_000)
}

/// A missing comma at the end of line 9 is blamed where it is noticed: line 10, column 3.
@Test func brokenJSONIsBlamedOnItsRealLine() {
    let broken = validPolicy.replacingOccurrences(of: "\"rpo\": \"8h\",", with: "\"rpo\": \"8h\"")
    let (_, problems) = check(broken)
    #expect(problems.first?.line == 10 && problems.first?.message.contains("column 3") == true, "\(problems)")
    #expect(problems.first?.message.contains("expected ',' or '}'") == true, "\(problems)")
}
