import Foundation
import Glibc
import S3TestSupport
import Testing
import VaultCore
import VaultDaemon

/// The daemon's API restores, end to end: `latest` is the policy's own, a restore into the
/// policy's source stops and starts the node around it (the post hook also after a failed
/// restore) and shows its phases and the downtime, a restore elsewhere runs no hook; drills
/// report their bytes and rate.
extension DaemonTests {
    func job(_ port: UInt16, _ token: String, _ id: String) -> [String: Any]? {
        let fd = connectTo(port); defer { close(fd) }
        let r = "GET /v1/jobs/\(id) HTTP/1.1\r\nAuthorization: Bearer \(token)\r\n\r\n"
        _ = Array(r.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var out: [UInt8] = [], b = [UInt8](repeating: 0, count: 4096)
        while true { let n = recv(fd, &b, b.count, 0); if n <= 0 { break }; out += b[0..<n] }
        let body = String(decoding: out, as: UTF8.self).components(separatedBy: "\r\n\r\n").dropFirst().joined()
        return try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
    }

    /// Posts a restore and waits (bounded) until the job reports it finished.
    func restoreThroughAPI(_ port: UInt16, _ token: String, _ body: String) -> [String: Any]? {
        let (code, text) = post(port, "/v1/restores", token: token, body: body)
        guard code == 202,
            let id = (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String])?["job"]
        else { return nil }
        var last: [String: Any]?
        _ = waitFor(30) {
            last = job(port, token, id)
            return ["succeeded", "failed"].contains(last?["state"] as? String ?? "")
        }
        return last
    }

    func phases(_ job: [String: Any]?) -> [String] {
        ((job?["phases"] as? [[String: Any]]) ?? []).map { "\($0["name"] ?? "?"):\($0["outcome"] ?? "-")" }
    }

    @Test func apiRestoresTakeThePolicysLatestAndStopAndStartTheNode() throws {
        let w = try Workspace()
        try w.ok(["init"])
        let bitcoind = try w.makeSourceTree("bitcoind")
        try w.write("geth/chaindata/000001.ldb", SecureRandom.bytes(200_000))
        // The hooks leave marks: the post hook says whether the node's data was there to start on.
        let marks = w.path("hooks.log")
        try w.write("hooks/pre", Array("#!/bin/sh\necho pre >> \(marks)\n".utf8), mode: 0o755)
        try w.write(
            "hooks/post",
            Array(
                """
                #!/bin/sh
                if [ -f \(bitcoind)/blocks/blk00000.dat ]; then echo post:data >> \(marks); else echo post:empty >> \(marks); fi

                """.utf8), mode: 0o755)
        try w.ok(["backup", bitcoind, "--policy", "bitcoind"])
        try w.ok(["backup", w.path("geth"), "--policy", "geth"])  // the newest snapshot: geth's
        let bitcoindID =
            (try JSONSerialization.jsonObject(
                with: Data(try w.ok(["snapshots", "--json", "--policy", "bitcoind"]).stdout.utf8))
            as? [[String: Any]])?.first?["id"] as? String

        // Daily schedules two hours back: no backup runs during the test (it would run the hooks).
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let at = utc.dateComponents([.hour, .minute], from: Date().addingTimeInterval(-7200))
        let daily = String(format: "%02d:%02d", at.hour!, at.minute!)
        try w.write(
            "policies/bitcoind.json",
            Array(
                """
                {"name":"bitcoind","source":"\(bitcoind)","consistency":{"mode":"stop","pre":["\(w.path("hooks/pre"))"],
                 "post":["\(w.path("hooks/post"))"]},"schedule":{"daily":"\(daily)"},"retention":{"keepLast":3},"rpo":"48h",
                 "restoreDrill":{"every":"3s"}}
                """.utf8))
        try w.write(
            "policies/geth.json",
            Array(
                """
                {"name":"geth","source":"\(w.path("geth"))","consistency":{"mode":"live"},"schedule":{"daily":"\(daily)"},
                 "retention":{"keepLast":3},"rpo":"48h"}
                """.utf8))
        let token = try adminToken(w)
        let port = TestPorts.take()
        try writeDaemonConfig(w, port: port, extra: "\"restoreRoots\":[\"\(w.root)\"]")
        let daemon = try w.start(["daemon", "--config", w.path("config.json")])
        defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }
        #expect(waitFor(10) { get(port, "/livez").0 == 200 })
        func hookMarks() -> [String] {
            ((try? String(contentsOfFile: marks, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        // The node's directory is lost: restored from bitcoind's snapshot, the node stopped around it.
        try FileManager.default.moveItem(atPath: bitcoind, toPath: w.path("bitcoind-lost"))
        let intoNode = restoreThroughAPI(port, token, "{\"policy\":\"bitcoind\",\"target\":\"\(bitcoind)\"}")
        #expect(intoNode?["state"] as? String == "succeeded", "\(intoNode ?? [:])")
        #expect(intoNode?["snapshot"] as? String == bitcoindID, "the policy's latest, not the repository's")
        #expect(try treeDifferences(w.path("bitcoind-lost"), bitcoind) == [])
        #expect(hookMarks() == ["pre", "post:data"], "pre before the restore, post after it")
        #expect(phases(intoNode) == ["stopping-node:succeeded", "restoring:succeeded", "starting-node:succeeded"])
        #expect((intoNode?["downtimeSeconds"] as? Double).map { $0 >= 0 } == true)

        // Elsewhere: no hook; geth's latest for geth (live mode: no hooks anyway).
        let copy = restoreThroughAPI(port, token, "{\"policy\":\"bitcoind\",\"target\":\"\(w.path("copy"))\"}")
        #expect(copy?["state"] as? String == "succeeded" && phases(copy) == ["restoring:succeeded"], "\(copy ?? [:])")
        #expect(copy?["downtimeSeconds"] == nil && hookMarks().count == 2)
        #expect(try treeDifferences(w.path("bitcoind-lost"), w.path("copy")) == [])
        let geth = restoreThroughAPI(port, token, "{\"policy\":\"geth\",\"target\":\"\(w.path("geth-copy"))\"}")
        #expect(geth?["state"] as? String == "succeeded", "\(geth ?? [:])")
        #expect(try treeDifferences(w.path("geth"), w.path("geth-copy")) == [])
        // The audit log names each restore's policy (a restore's job key names only its request; the
        // old code took that for the policy: "policy 3f2a…"). Written after the job's record: waited for.
        func restoreSubjects() -> [String] {
            ((try? AuditLog.read(w.path("state/audit.log"))) ?? []).filter { $0.action == "restore" }.map(\.subject)
        }
        #expect(
            waitFor(10) { restoreSubjects().count == 3 }
                && restoreSubjects() == ["policy bitcoind", "policy bitcoind", "policy geth"],
            "\(restoreSubjects())")

        // A restore that fails once the node is stopped (its directory is not empty): the node is
        // started again all the same, and the job says which phase failed.
        let failed = restoreThroughAPI(port, token, "{\"policy\":\"bitcoind\",\"target\":\"\(bitcoind)\"}")
        #expect(failed?["state"] as? String == "failed", "\(failed ?? [:])")
        #expect((failed?["error"] as? String)?.contains("exists and is not empty") == true)
        #expect(phases(failed) == ["stopping-node:succeeded", "restoring:failed", "starting-node:succeeded"])
        #expect(hookMarks() == ["pre", "post:data", "pre", "post:data"])
        #expect(failed?["downtimeSeconds"] as? Double != nil)

        // Drills: bytes and rate in /v1/status and /metrics, checked by promtool; no tree written.
        var drilled: [String: Any]?
        #expect(
            waitFor(30) {
                let status = try? JSONSerialization.jsonObject(with: Data(self.status(port).1.utf8)) as? [String: Any]
                drilled = (status?["policies"] as? [[String: Any]])?.first { $0["name"] as? String == "bitcoind" }
                return drilled?["lastDrillBytesPerSecond"] != nil
            }, "a drill ran")
        #expect((drilled?["lastDrillBytes"] as? Int ?? 0) > 3_000_000 && drilled?["lastDrillSeconds"] as? Double != nil)
        let metrics = get(port, "/metrics").1
        #expect(metrics.contains("chainvault_restore_drill_last_bytes_per_second{policy=\"bitcoind\"} "))
        #expect(metrics.contains("chainvault_restore_drill_last_duration_seconds{policy=\"bitcoind\"} "))
        if let promtool = tool("promtool") {
            let (code, out, err) = try runTool(promtool, ["check", "metrics"], stdin: metrics)
            #expect(code == 0, "promtool: \(out) \(err)")
        }
        #expect(!FileManager.default.fileExists(atPath: w.path("state/drill-bitcoind")))
        kill(daemon.processIdentifier, SIGTERM)
        #expect(waitFor(20) { !daemon.isRunning })
    }
}
