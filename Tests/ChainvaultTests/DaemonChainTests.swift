import Foundation
import Glibc
import S3TestSupport
import Testing
import VaultCore
import VaultDaemon

/// The daemon's view of the chain check: `/v1/status` and `/metrics` carry the last backup's
/// height and whether the chain was valid; a backup whose required check failed is a failed job
/// (the last-backup and RPO alerts fire), its snapshot kept but never `latest`.
extension DaemonTests {
    @Test func theDaemonReportsTheChainHeightAndFailsABackupOfABrokenChain() throws {
        let w = try Workspace()
        try w.ok(["init"])
        let chain = ChainTests()
        let source = try chain.node(w)
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let at = utc.dateComponents([.hour, .minute], from: Date().addingTimeInterval(-7200))
        try w.write(
            "policies/btc.json",
            Array(
                """
                {"name":"btc","source":"\(source)","consistency":{"mode":"live"},"chain":"bitcoind","chainCheck":"required",
                 "schedule":{"daily":"\(String(format: "%02d:%02d", at.hour!, at.minute!))"},"retention":{"keepLast":5},"rpo":"48h"}
                """.utf8))
        let token = try adminToken(w)
        let port = TestPorts.take()
        try writeDaemonConfig(w, port: port, stateDirectory: "daemon-state")
        let daemon = try w.start(["daemon", "--config", w.path("config.json")])
        defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }
        #expect(waitFor(10) { get(port, "/livez").0 == 200 })

        func backup() -> [String: Any]? {
            let (code, text) = post(port, "/v1/policies/btc/backup", token: token)
            guard code == 202,
                let id = (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String])?["job"]
            else { return nil }
            var last: [String: Any]?
            _ = waitFor(60) {
                last = job(port, token, id); return ["succeeded", "failed"].contains(last?["state"] as? String ?? "")
            }
            return last
        }
        func policyStatus() -> [String: Any]? {
            let body = status(port).1
            let status = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
            return (status?["policies"] as? [[String: Any]])?.first { $0["name"] as? String == "btc" }
        }

        #expect(backup()?["state"] as? String == "succeeded")
        let good = policyStatus()?["chain"] as? [String: Any]
        #expect(good?["height"] as? Int == 120 && good?["valid"] as? Bool == true, "\(policyStatus() ?? [:])")
        var metrics = get(port, "/metrics").1
        #expect(metrics.contains("chainvault_chain_height{policy=\"btc\"} 120"), "\(metrics)")
        #expect(metrics.contains("chainvault_chain_check_failed{policy=\"btc\"} 0"))

        try chain.flip(w)
        let failed = backup()
        #expect(
            failed?["state"] as? String == "failed" && (failed?["error"] as? String ?? "").contains("chain check"),
            "\(failed ?? [:])")
        #expect((policyStatus()?["chain"] as? [String: Any])?["valid"] as? Bool == false)
        metrics = get(port, "/metrics").1
        #expect(metrics.contains("chainvault_chain_check_failed{policy=\"btc\"} 1"), "\(metrics)")
        #expect(metrics.contains("chainvault_backup_last_outcome{policy=\"btc\"} 0"))
        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
        // The failed check is an audit event of its own, naming the snapshot and the first problem.
        let entries = try AuditLog.read(w.path("daemon-state/audit.log"))
        let event = entries.first { $0.action == "chain-check" }
        #expect(event?.subject == "policy btc" && event?.result == "failed", "\(entries.map(\.action))")
        #expect(event?.details["profile"] == "bitcoind" && event?.details["required"] == "true")
        #expect(
            event?.details["firstProblem"]?.contains("offset \(ChainTests.block60) height 60") == true,
            "\(event?.details ?? [:])")
        #expect(event?.details["snapshot"]?.isEmpty == false)
        try w.ok(["audit", "--verify", "--file", w.path("daemon-state/audit.log")])
        // The good snapshot stays `latest`: a restore gives back the valid chain.
        try w.ok(["restore", "latest", "--target", w.path("restored"), "--policy", "btc"])
        #expect(
            FileManager.default.contents(atPath: w.path("restored/blocks/blk00000.dat"))
                == FileManager.default.contents(atPath: ChainTests.fixture))
    }

    /// A source that returned EIO fails its chain check too (the block file could not be read),
    /// but the cause is the read error: the job's error says the backup is partial and names the
    /// file, not the chain check (it blamed the chain before).
    @Test func aPartialBackupUnderARequiredChainCheckBlamesTheUnreadableFile() throws {
        let w = try Workspace()
        try w.ok(["init"])
        let source = try ChainTests().node(w)
        try w.write(
            "policies/btc.json",
            Array(
                """
                {"name":"btc","source":"\(source)","consistency":{"mode":"live"},"chain":"bitcoind","chainCheck":"required",
                 "schedule":{"every":"1h"},"retention":{"keepLast":5},"rpo":"48h"}
                """.utf8))
        let port = TestPorts.take()
        try writeDaemonConfig(w, port: port, stateDirectory: "daemon-state", admin: false)
        let shim = try SourceAndClockFaultTests().buildShim(w)
        w.environment.merge(["LD_PRELOAD": shim, "EIO_FILE": "blk00000.dat", "EIO_AFTER": "4096"]) { $1 }
        let daemon = try w.start(["daemon", "--config", w.path("config.json")])
        defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) }; daemon.waitUntilExit() }
        w.environment.removeValue(forKey: "LD_PRELOAD")
        #expect(waitFor(60) { counter(port, "jobsFinished") >= 1 }, "the first scheduled backup finishes")
        let btc = policyStatus(port, "btc")
        let error = btc["lastError"] as? String ?? ""
        #expect(btc["lastOutcome"] as? String == "failed", "\(btc)")
        #expect(error.contains("is partial") && error.contains("blocks/blk00000.dat"), "\(error)")
        #expect(!error.contains("chain check"), "\(error)")
    }
}
