import Foundation
import Glibc
import S3TestSupport
import Testing
import VaultCore
import VaultDaemon

/// Issue 14's access model through the running daemon's HTTP API: named tokens with roles, one
/// route table deciding who may call what, and destructive actions that wait for M distinct
/// admins' approvals of their exact parameters within a window.
struct DaemonAccessTests {
    let d = DaemonTests()
    static let roles = [
        "mon": "monitor", "op": "operator", "rest": "restorer", "alice": "admin", "bob": "admin", "carol": "admin"
    ]

    /// Any method, with or without a token; the status and the body.
    func call(_ port: UInt16, _ method: String, _ path: String, _ token: String?, _ body: String = "") -> (Int, String)
    {
        d.request(port, method, path, token: token, body: body)
    }

    func object(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }

    /// A repository with one snapshot of the policy `demo`, a token per role, and the config;
    /// returns the port and each token by name. Schedules are daily, two hours back: nothing runs
    /// unless the test asks.
    func prepare(_ w: Workspace, approvals: String = "{}") throws -> (UInt16, [String: String]) {
        try w.ok(["init"])
        let node = try w.makeSourceTree("node")
        try w.ok(["backup", node, "--policy", "demo"])
        var tokens: [String: String] = [:]
        var entries: [String] = []
        for (name, role) in Self.roles.sorted(by: { $0.key < $1.key }) {
            tokens[name] = "\(name)-" + Hex.encode(SecureRandom.bytes(20))
            try w.write("tokens/\(name)", Array(tokens[name]!.utf8), mode: 0o600)
            entries.append("{\"name\":\"\(name)\",\"role\":\"\(role)\",\"file\":\"\(w.path("tokens/\(name)"))\"}")
        }
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let at = utc.dateComponents([.hour, .minute], from: Date().addingTimeInterval(-7200))
        try w.write(
            "policies/demo.json",
            Array(
                """
                {"name":"demo","source":"\(node)","consistency":{"mode":"two-phase","pre":["true"],"post":["true"]},
                 "schedule":{"daily":"\(String(format: "%02d:%02d", at.hour!, at.minute!))"},"retention":{"keepLast":1},"rpo":"2d"}
                """.utf8))
        let port = TestPorts.take()
        try w.write(
            "config.json",
            Array(
                """
                {"repository":"\(w.repo)","keyFile":"\(w.key)","policies":"\(w.path("policies"))","listen":"127.0.0.1:\(port)",
                 "stateDirectory":"\(w.path("state"))","restoreRoots":["\(w.root)"],"pruneEvery":"30d",
                 "tokens":[\(entries.joined(separator: ","))],"approvals":\(approvals)}
                """.utf8))
        return (port, tokens)
    }

    func start(_ w: Workspace, _ port: UInt16, clockFile: String? = nil) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Workspace.binary)
        p.arguments = ["daemon", "--config", w.path("config.json")]
        p.environment = w.environment.merging(clockFile.map { ["CHAINVAULT_TEST_CLOCK_FILE": $0] } ?? [:]) { $1 }
        p.standardError = FileHandle.nullDevice
        try p.run()
        #expect(d.waitFor(20) { d.get(port, "/readyz").0 == 200 }, "the daemon is ready")
        return p
    }

    func stop(_ p: Process) {
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
    }

    func audit(_ w: Workspace) -> [AuditLog.Entry] { (try? AuditLog.read(w.path("state/audit.log"))) ?? [] }

    @Test func everyRouteAnswersEveryRoleAsItsTableSays() throws {
        let w = try Workspace()
        let (port, tokens) = try prepare(w)
        let p = try start(w, port)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        // Each route of the table, with a request an allowed caller gets past authorisation with
        // (an unknown id or policy, or a body the handler refuses): 401 and 403 mean the table said no.
        let cases: [(route: String, method: String, path: String, body: String)] = [
            ("GET /livez open", "GET", "/livez", ""), ("GET /healthz open", "GET", "/healthz", ""),
            ("GET /readyz open", "GET", "/readyz", ""), ("GET /metrics open", "GET", "/metrics", ""),
            ("GET /v1/status monitor", "GET", "/v1/status", ""),
            ("GET /v1/jobs/{id} monitor", "GET", "/v1/jobs/nosuch", ""),
            ("POST /v1/policies/{name}/backup operator", "POST", "/v1/policies/demo/backup", ""),
            ("POST /v1/policies/{name}/verify operator", "POST", "/v1/policies/nosuch/verify", ""),
            ("POST /v1/restores restorer", "POST", "/v1/restores", "{"),
            ("POST /v1/policies/{name}/forget admin", "POST", "/v1/policies/nosuch/forget", ""),
            ("POST /v1/prune admin", "POST", "/v1/prune", ""),
            ("POST /v1/policies/{name}/disable admin", "POST", "/v1/policies/nosuch/disable", ""),
            ("POST /v1/policies/{name}/enable admin", "POST", "/v1/policies/nosuch/enable", ""),
            ("POST /v1/keys/{id}/remove admin", "POST", "/v1/keys/0000/remove", ""),
            ("GET /v1/approvals admin", "GET", "/v1/approvals", ""),
            ("POST /v1/approvals/{id} admin", "POST", "/v1/approvals/nosuch", "{}")
        ]
        #expect(cases.map(\.route).sorted() == Daemon.routeSummary.sorted(), "the test covers every route of the table")
        let permits: [String: Set<String>] = [
            "open": ["mon", "op", "rest", "alice"], "monitor": ["mon", "op", "rest", "alice"],
            "operator": ["op", "alice"], "restorer": ["rest", "alice"], "admin": ["alice"]
        ]
        for c in cases {
            let required = String(c.route.split(separator: " ").last!)
            let (anonymous, _) = call(port, c.method, c.path, nil, c.body)
            #expect(
                required == "open" ? anonymous != 401 && anonymous != 403 : anonymous == 401,
                "\(c.route) without a token: \(anonymous)")
            #expect(
                call(port, c.method, c.path, "wrong-" + tokens["alice"]!, c.body).0
                    == (required == "open" ? anonymous : 401))
            for name in ["mon", "op", "rest", "alice"] {
                let (status, text) = call(port, c.method, c.path, tokens[name], c.body)
                if permits[required]!.contains(name) {
                    #expect(status != 401 && status != 403 && status != 405, "\(c.route) as \(name): \(status) \(text)")
                } else {
                    #expect(
                        status == 403 && text.contains("needs \(required)"), "\(c.route) as \(name): \(status) \(text)")
                }
            }
        }
        // /v1/status shows nothing without a token (issue 14): policies, jobs and errors are the
        // monitor role's; a monitor token reads it whole.
        let (anonymous, shown) = call(port, "GET", "/v1/status", nil)
        #expect(anonymous == 401 && !shown.contains("demo") && !shown.contains("policies"), "\(anonymous) \(shown)")
        let (monitored, status) = call(port, "GET", "/v1/status", tokens["mon"])
        let policies = object(status)["policies"] as? [[String: Any]]
        #expect(monitored == 200 && policies?.first?["name"] as? String == "demo", "\(monitored) \(status)")
        // The audit log names the token that asked, never the token itself.
        #expect(
            d.waitFor(60) {
                let entries = audit(w)
                return entries.contains { $0.actor == "api:op" && $0.action == "backup" && $0.result == "succeeded" }
                    && entries.contains { $0.actor == "api:alice" && $0.action == "prune" }
            }, "\(audit(w).map { "\($0.actor) \($0.action) \($0.result)" })")
        let log = String(decoding: try Posix.readFile(w.path("state/audit.log")), as: UTF8.self)
        for token in tokens.values { #expect(!log.contains(token)) }
        stop(p)
    }
}

extension DaemonAccessTests {
    func approve(_ port: UInt16, _ token: String?, _ id: String, _ digest: String) -> (Int, String) {
        call(port, "POST", "/v1/approvals/\(id)", token, "{\"digest\":\"\(digest)\"}")
    }

    @Test func aRestoreOverALiveNodeRunsOnceAfterTwoOfThreeAdminsApprovedItsExactParameters() throws {
        let w = try Workspace()
        let (port, tokens) = try prepare(
            w,
            approvals: """
                {"restore-live":{"required":2,"of":["alice","bob","carol"],"window":"1h"}}
                """)
        try w.write("live/old-file", Array("the live node's data".utf8))
        var p = try start(w, port)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }

        let body = "{\"policy\":\"demo\",\"target\":\"\(w.path("live"))\",\"mode\":\"force\"}"
        let (code, text) = call(port, "POST", "/v1/restores", tokens["rest"], body)
        #expect(code == 202, "\(text)")
        let pending = object(text)
        let id = pending["pending"] as? String ?? "", digest = pending["digest"] as? String ?? ""
        #expect(!id.isEmpty && digest.count == 64 && pending["job"] == nil, "\(text)")
        #expect(try Posix.readFile(w.path("live/old-file")) == Array("the live node's data".utf8), "nothing ran yet")

        // The same restore into another place is another digest: an approval of it is refused.
        let other = PendingRequest.digest(
            .restoreLive, ["policy": "demo", "snapshot": "latest", "target": w.path("elsewhere"), "mode": "force"])
        #expect(other != digest)
        #expect(approve(port, tokens["alice"], id, other).0 == 409)
        #expect(approve(port, tokens["rest"], id, digest).0 == 403, "a restorer cannot approve")
        #expect(approve(port, nil, id, digest).0 == 401)
        #expect(approve(port, tokens["alice"], id, digest).0 == 202)
        let twice = approve(port, tokens["alice"], id, digest)
        #expect(twice.0 == 409 && twice.1.contains("alice approved it already"), "\(twice)")

        // An admin's own request: another admin must approve it; the requester never can.
        let own = object(call(port, "POST", "/v1/restores", tokens["carol"], body).1)
        let ownApproval = approve(
            port, tokens["carol"], own["pending"] as? String ?? "", own["digest"] as? String ?? "")
        #expect(ownApproval.0 == 403 && ownApproval.1.contains("cannot approve it too"), "\(ownApproval)")

        // The pending request (and alice's approval) survive a restart.
        stop(p)
        p = try start(w, port)
        let listed =
            (try? JSONSerialization.jsonObject(with: Data(call(port, "GET", "/v1/approvals", tokens["bob"]).1.utf8)))
            as? [[String: Any]]
        #expect(listed?.first { $0["id"] as? String == id }?["approvals"].map { ($0 as? [Any])?.count } == 1)

        let (ran, started) = approve(port, tokens["bob"], id, digest)
        #expect(ran == 202, "\(started)")
        let job = object(started)["job"] as? String ?? ""
        #expect(
            d.waitFor(30) { d.job(port, tokens["mon"]!, job)?["state"] as? String == "succeeded" },
            "the approved restore ran")
        #expect(try treeDifferences(w.path("node"), w.path("live")) == [])
        let late = approve(port, tokens["carol"], id, digest)
        #expect(late.0 == 409 && late.1.contains("already executed"), "\(late)")

        stop(p)
        let entries = audit(w)
        #expect(entries.filter { $0.action == "restore" }.count == 1, "the restore ran exactly once")
        #expect(
            entries.contains {
                $0.action == "restore" && $0.actor == "api:rest" && $0.details["approvedBy"] == "alice,bob"
            })
        #expect(
            entries.filter { $0.action == "approve" && $0.result == "accepted" }.map(\.actor) == [
                "api:alice", "api:bob"
            ])
        #expect(
            entries.contains {
                $0.action == "approval-request" && $0.actor == "api:rest" && $0.details["digest"] == digest
            })
        #expect(entries.contains { $0.action == "approved-run" && $0.details["job"] == job })
        try w.ok(["audit", "--verify", "--file", w.path("state/audit.log")])
    }

    /// Removing a key is one of the destructive actions (issue 14): under a 2-of-3 rule it waits
    /// for two admins other than its requester, then removes exactly that key; the daemon's own
    /// key and an unknown one are refused without removing anything.
    @Test func aKeyIsRemovedThroughTheAPIOnlyOnceTwoOtherAdminsApprovedIt() throws {
        let w = try Workspace()
        let (port, tokens) = try prepare(
            w,
            approvals: """
                {"key-remove":{"required":2,"of":["alice","bob","carol"],"window":"1h"}}
                """)
        try w.write("pass", Array("a second operator's passphrase".utf8), mode: 0o600)
        let id =
            object(try w.ok(["key", "add", "--new-password-file", w.path("pass"), "--json"]).stdout)["added"] as? String
            ?? ""
        func keys() throws -> [String] {
            let rows =
                try JSONSerialization.jsonObject(with: Data(try w.ok(["key", "list", "--json"]).stdout.utf8))
                as? [[String: Any]]
            return (rows ?? []).compactMap { $0["id"] as? String }.sorted()
        }
        let before = try keys()
        #expect(before.count == 2 && before.contains(id), "\(before)")
        let p = try start(w, port)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }

        #expect(call(port, "POST", "/v1/keys/\(id)/remove", tokens["rest"]).0 == 403, "a restorer cannot ask")
        #expect(call(port, "POST", "/v1/keys/NOT-HEX/remove", tokens["alice"]).0 == 400)
        let (code, text) = call(port, "POST", "/v1/keys/\(id)/remove", tokens["alice"])
        #expect(code == 202, "\(text)")
        let pending = object(text)
        let request = pending["pending"] as? String ?? "", digest = pending["digest"] as? String ?? ""
        #expect(approve(port, tokens["alice"], request, digest).0 == 403, "the requester cannot approve")
        #expect(approve(port, tokens["bob"], request, digest).0 == 202)
        #expect(try keys() == before, "nothing is removed before the second approval")
        let (ran, body) = approve(port, tokens["carol"], request, digest)
        #expect(ran == 200 && object(body)["state"] as? String == "removed", "\(ran) \(body)")
        #expect(try keys() == before.filter { $0 != id })

        // The key the daemon opened the repository with is refused even when approved: 409, kept.
        let own = try keys()
        let mine = object(call(port, "POST", "/v1/keys/\(own[0])/remove", tokens["alice"]).1)
        #expect(
            approve(port, tokens["bob"], mine["pending"] as? String ?? "", mine["digest"] as? String ?? "").0 == 202)
        let refused = approve(port, tokens["carol"], mine["pending"] as? String ?? "", mine["digest"] as? String ?? "")
        #expect(refused.0 == 409 && refused.1.contains("last key"), "\(refused)")
        #expect(try keys() == own)

        stop(p)
        let entries = audit(w)
        #expect(
            entries.contains {
                $0.action == "key-remove" && $0.result == "succeeded" && $0.details["approvedBy"] == "bob,carol"
            },
            "\(entries.map { "\($0.actor) \($0.action) \($0.result) \($0.details)" })")
        #expect(entries.contains { $0.action == "approved-run" && $0.result == "done" })
        #expect(entries.contains { $0.action == "key-remove" && $0.result == "failed" })
        try w.ok(["audit", "--verify", "--file", w.path("state/audit.log")])
    }

    @Test func anExpiredRequestNeverRunsAndAnApprovedDisableTakesThePolicyOffTheSchedule() throws {
        let w = try Workspace()
        let (port, tokens) = try prepare(
            w,
            approvals: """
                {"forget":{"required":1,"of":["bob"],"window":"1h"},"policy-disable":{"required":1,"window":"10m"}}
                """)
        try w.ok(["backup", w.path("node"), "--policy", "demo"])  // two snapshots; retention keeps one
        let clock = w.path("clock-offset")
        try w.write("clock-offset", Array("0".utf8))
        let p = try start(w, port, clockFile: clock)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }

        let forget = object(call(port, "POST", "/v1/policies/demo/forget", tokens["alice"]).1)
        let id = forget["pending"] as? String ?? ""
        #expect(!id.isEmpty, "\(forget)")
        #expect(
            approve(port, tokens["carol"], id, forget["digest"] as? String ?? "").0 == 403,
            "carol is not one of its approvers")
        try w.write("clock-offset", Array("3601".utf8))  // the approvals' clock, an hour and a second later
        let expired = approve(port, tokens["bob"], id, forget["digest"] as? String ?? "")
        #expect(expired.0 == 410 && expired.1.contains("will never run"), "\(expired)")
        #expect(approve(port, tokens["bob"], id, forget["digest"] as? String ?? "").0 == 409)
        let snapshots =
            try JSONSerialization.jsonObject(with: Data(try w.ok(["snapshots", "--json"]).stdout.utf8)) as? [Any]
        #expect(snapshots?.count == 2, "nothing was forgotten")

        #expect(
            object(call(port, "GET", "/v1/status", tokens["mon"]).1)["scheduled"].map {
                ($0 as? [String: Any])?["backup:demo"] != nil
            } == true)
        let disable = object(call(port, "POST", "/v1/policies/demo/disable", tokens["alice"]).1)
        let (status, text) = approve(
            port, tokens["bob"], disable["pending"] as? String ?? "", disable["digest"] as? String ?? "")
        #expect(status == 200 && text.contains("disabled"), "\(text)")
        #expect(
            object(call(port, "GET", "/v1/status", tokens["mon"]).1)["scheduled"].map {
                ($0 as? [String: Any])?["backup:demo"] == nil
            } == true)
        #expect(call(port, "POST", "/v1/policies/demo/backup", tokens["op"]).0 == 409)
        stop(p)
        let entries = audit(w)
        #expect(!entries.contains { $0.action == "forget" }, "the expired forget never ran")
        #expect(
            entries.contains {
                $0.action == "approve" && $0.result == "refused" && $0.details["reason"]?.contains("expired") == true
            })
        #expect(
            entries.contains {
                $0.action == "policy-disable" && $0.actor == "api:alice" && $0.details["approvedBy"] == "bob"
            })
    }
}
