import Foundation
import Testing
import VaultTestSupport
import VaultCore
@testable import VaultDaemon

/// The tokens' store and the roles' rule, without a daemon.
struct APIAccessTests {
    func config(_ dir: String, legacy: Bool) throws -> DaemonConfig {
        var tokens: [APITokenConfig] = []
        for (name, role) in [("mon", APIRole.monitor), ("op", .operator), ("alice", .admin)] {
            let path = dir + "/" + name
            try Array("\(name)-token-0123456789abcdef0123456789abcdef".utf8).withUnsafeBytes {
                try Posix.writeFileAtomically(path, $0, mode: 0o600)
            }
            tokens.append(APITokenConfig(name: name, role: role, file: path))
        }
        if legacy {
            try Array("legacy-token-0123456789abcdef0123456789abcdef".utf8).withUnsafeBytes {
                try Posix.writeFileAtomically(dir + "/api.token", $0, mode: 0o600)
            }
        }
        var c = try JSONDecoder().decode(
            DaemonConfig.self, from: Data("{\"repository\":\"/r\",\"policies\":\"/p\"}".utf8))
        c.tokens = tokens
        c.apiTokenFile = legacy ? dir + "/api.token" : nil
        return c
    }

    @Test func tokensAreKeptAsDigestsAndEveryOneIsComparedInConstantTime() throws {
        let dir = temporaryDirectory("cv-tokens")
        let tokens = try APITokens.load(try config(dir, legacy: true), [:])
        #expect(tokens.names == ["admin", "mon", "op", "alice"])
        for e in tokens.entries {
            #expect(e.digest.count == 32)
            #expect(e.digest != Array("\(e.name)-token-0123456789abcdef0123456789abcdef".utf8), "no token in memory")
        }
        for (token, name, role) in [
            ("mon-token-0123456789abcdef0123456789abcdef", "mon", APIRole.monitor),
            ("alice-token-0123456789abcdef0123456789abcdef", "alice", .admin),
            ("legacy-token-0123456789abcdef0123456789abcdef", "admin", .admin)
        ] {
            var comparisons = 0
            #expect(
                tokens.authenticate(Array(token.utf8), comparisons: &comparisons) == APICaller(name: name, role: role))
            #expect(comparisons == 4, "the first match does not end the comparisons")
        }
        var comparisons = 0
        #expect(
            tokens.authenticate(Array("mon-token-0123456789abcdef0123456789abcdeX".utf8), comparisons: &comparisons)
                == nil)
        #expect(comparisons == 4)
        // A token file others can read is refused, as a key file is.
        let written = try config(dir, legacy: false)
        chmod(dir + "/op", 0o644)
        #expect(throws: VaultError.self) { try APITokens.load(written, [:]) }
    }

    @Test func rolesPermitWhatTheTableNeeds() {
        let table: [(APIRole, APIRole, Bool)] = [
            (.monitor, .monitor, true), (.monitor, .operator, false), (.monitor, .restorer, false),
            (.monitor, .admin, false),
            (.operator, .monitor, true), (.operator, .operator, true), (.operator, .restorer, false),
            (.operator, .admin, false),
            (.restorer, .monitor, true), (.restorer, .operator, false), (.restorer, .restorer, true),
            (.restorer, .admin, false),
            (.admin, .monitor, true), (.admin, .operator, true), (.admin, .restorer, true), (.admin, .admin, true)
        ]
        for (caller, required, allowed) in table {
            #expect(caller.permits(required) == allowed, "\(caller) for \(required)")
        }
    }

    @Test func theDigestCoversTheActionAndEveryParameter() {
        let base = ["policy": "demo", "target": "/srv/node", "mode": "force", "snapshot": "latest"]
        let d = PendingRequest.digest(.restoreLive, base)
        #expect(d == PendingRequest.digest(.restoreLive, Dictionary(uniqueKeysWithValues: base.reversed())))
        #expect(d != PendingRequest.digest(.restoreLive, base.merging(["mode": "delta"]) { $1 }))
        #expect(d != PendingRequest.digest(.restoreLive, base.merging(["target": "/srv/nodf"]) { $1 }))
        #expect(
            PendingRequest.digest(.forget, ["policy": "demo"])
                != PendingRequest.digest(.policyDisable, ["policy": "demo"]))
    }

    @Test func rulesThatCannotBeMetAreNamed() {
        let admins: Set<String> = ["alice", "bob"]
        #expect(ApprovalRule(required: 2, of: ["alice", "bob"], window: "1h").problems(admins: admins).isEmpty)
        #expect(ApprovalRule(required: 3, of: ["alice", "bob"], window: nil).problems(admins: admins).count == 1)
        #expect(
            ApprovalRule(required: 1, of: ["mallory"], window: nil).problems(admins: admins) == [
                "'of' names mallory, which is not an admin token"
            ])
        #expect(ApprovalRule(required: 0, of: nil, window: "soon").problems(admins: admins).count == 2)
    }
}
