import Foundation
import Testing
import VaultDaemon

struct HealthCheckTests {
    func status(_ policies: String, ready: Bool = true) throws -> HealthCheck.Status {
        try JSONDecoder().decode(
            HealthCheck.Status.self, from: Data("{\"ready\":\(ready),\"policies\":[\(policies)]}".utf8))
    }

    func policy(_ name: String, age: Double?, rpo: Double = 3600, outcome: String? = "succeeded", verifyErrors: Int = 0)
        -> String
    {
        "{\"name\":\"\(name)\",\"ageSeconds\":\(age.map { "\($0)" } ?? "null"),\"rpoSeconds\":\(rpo),"
            + "\"lastOutcome\":\(outcome.map { "\"\($0)\"" } ?? "null"),\"lastVerifyErrors\":\(verifyErrors)}"
    }

    @Test(
        arguments: [
            (45.0, "45 s"), (119, "119 s"), (120, "2 min"), (3599, "59 min"), (7200, "2 h 00 min"),
            (11_100, "3 h 05 min"),
            (172_800, "2 d 00 h"), (187_200, "2 d 04 h")
        ] as [(Double, String)])
    func agesReadAsAPersonReadsThem(_ seconds: Double, _ text: String) {
        #expect(HealthCheck.age(seconds) == text)
    }

    /// `-w 10s` used to print "0 min ago (late over 0)": sub-minute limits must show in seconds.
    @Test func shortLimitsAreShownInSeconds() throws {
        let r = HealthCheck(warningSeconds: 10, criticalSeconds: 120).evaluate(try status(policy("demo", age: 45)))
        #expect(r.line == "CHAINVAULT WARNING: demo last backup 45 s ago (late over 10 s) | age_demo=45s;10;120;0")
        #expect(r.exitCode == 1)
    }

    /// A policy never backed up is CRITICAL and its perfdata value is "U" (no data), not -1 s.
    @Test func aPolicyNeverBackedUpHasNoAgeInItsPerfdata() throws {
        let r = HealthCheck().evaluate(try status(policy("never", age: nil)))
        #expect(r.exitCode == 2)
        #expect(r.line == "CHAINVAULT CRITICAL: never never backed up | age_never=U;3600;7200;0")
    }

    @Test func theWorstPolicyDecidesAndEveryProblemIsNamed() throws {
        let s = try status(
            [policy("a", age: 100), policy("b", age: 5000, outcome: "failed"), policy("c", age: 10, verifyErrors: 2)]
                .joined(separator: ","), ready: false)
        let r = HealthCheck().evaluate(s)
        #expect(r.state == "CRITICAL" && r.exitCode == 2)
        #expect(r.policies.map(\.state) == ["OK", "WARNING", "CRITICAL"])
        #expect(
            r.summary == "b last backup 83 min ago (late over 60 min); b last run failed: no error recorded; "
                + "c verify found 2 problem(s); daemon not ready (see /readyz?verbose)")
    }

    @Test func anUnknownPolicyIsUnknownAndListsTheKnownOnes() throws {
        let r = HealthCheck(onlyPolicy: "geth").evaluate(try status(policy("bitcoind", age: 1)))
        #expect(r.exitCode == 3)
        #expect(r.line == "CHAINVAULT UNKNOWN: no policy geth (the daemon has: bitcoind)")
    }

    @Test func labelsWithReservedCharactersAreQuoted() throws {
        let r = HealthCheck().evaluate(try status(policy("node 1", age: 5)))
        #expect(r.perfdata == ["'age_node 1'=5s;3600;7200;0"])
    }
}
