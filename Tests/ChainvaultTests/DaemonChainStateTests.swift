import Foundation
import Glibc
import S3TestSupport
import Testing
import VaultChain
import VaultDaemon

/// The daemon's backups keep the same incremental chain state as the CLI's (one per policy and
/// source, in the daemon's state directory): a scheduled or triggered backup after an append
/// checks only the appended part, also after a restart, and a bit flipped in an old block file
/// still changes a chunk id, so the required check catches it (flagged snapshot, not `latest`).
extension DaemonTests {
    /// ~80 KB regtest blocks in 8 MiB files (as `ChainIncrementalBackupTests`): 150 blocks fill
    /// one file and start a second; the same seed writes the same bytes, so more blocks append.
    func regtestNode(_ w: Workspace, blocks: Int) throws {
        let writer = try RegtestChainWriter(
            directory: w.path("node/blocks"), key: [1, 2, 3, 4, 5, 6, 7, 8],
            maxFileSize: 8 << 20)
        try writer.append(blocks, transactions: 200, payload: 330)
    }

    func blockBytes(_ w: Workspace) throws -> Int {
        let dir = w.path("node/blocks")
        return try FileManager.default.contentsOfDirectory(atPath: dir).filter {
            $0.hasSuffix(".dat") && $0 != "xor.dat"
        }
        .reduce(0) { $0 + ((try FileManager.default.attributesOfItem(atPath: dir + "/" + $1)[.size] as? Int) ?? 0) }
    }

    @Test func daemonBackupsCheckOnlyTheAppendedChainAndStillCatchAFlippedOldBlock() throws {
        let w = try Workspace()
        try w.ok(["init"])
        try regtestNode(w, blocks: 150)
        // A daily run two hours ago is not due before tomorrow: only the triggered backups run.
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let at = utc.dateComponents([.hour, .minute], from: Date().addingTimeInterval(-7200))
        try w.write(
            "policies/btc.json",
            Array(
                """
                {"name":"btc","source":"\(w.path("node"))","consistency":{"mode":"live"},"chain":"bitcoind",
                 "chainCheck":"required","schedule":{"daily":"\(String(format: "%02d:%02d", at.hour!, at.minute!))"},
                 "retention":{"keepLast":10},"rpo":"48h"}
                """.utf8))
        let token = try adminToken(w)
        let port = TestPorts.take()
        try writeDaemonConfig(w, port: port, stateDirectory: "daemon-state")
        func startDaemon() throws -> Process {
            let daemon = try w.start(["daemon", "--config", w.path("config.json")])
            #expect(waitFor(10) { get(port, "/livez").0 == 200 })
            return daemon
        }
        func stop(_ daemon: Process) {
            kill(daemon.processIdentifier, SIGTERM)
            daemon.waitUntilExit()
        }
        /// Triggers a backup, waits until its job finished; the job and the policy's chain check.
        func backup() -> (job: [String: Any]?, check: [String: Any]) {
            let (code, text) = post(port, "/v1/policies/btc/backup", token: token)
            var last: [String: Any]?
            if code == 202,
                let id = (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String])?["job"]
            {
                _ = waitFor(120) {
                    last = job(port, token, id);
                    return ["succeeded", "failed"].contains(last?["state"] as? String ?? "")
                }
            }
            let status = (try? JSONSerialization.jsonObject(with: Data(status(port).1.utf8))) as? [String: Any]
            let btc = (status?["policies"] as? [[String: Any]])?.first { $0["name"] as? String == "btc" }
            return (last, btc?["chain"] as? [String: Any] ?? [:])
        }

        var daemon = try startDaemon()
        defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }
        let first = backup()
        let full = try blockBytes(w)
        #expect(first.job?["state"] as? String == "succeeded", "\(first.job ?? [:])")
        #expect(first.check["bytesChecked"] as? Int == full && first.check["height"] as? Int == 150, "\(first.check)")

        try regtestNode(w, blocks: 200)
        let second = backup()
        let appended = try blockBytes(w) - full
        #expect(
            second.job?["state"] as? String == "succeeded" && second.check["height"] as? Int == 200, "\(second.check)")
        // At most the parent's last chunk (≤ 4 MiB) and one record-start step (1 MiB) before it
        // are parsed again in the active blk and rev files; the full check was every byte.
        let checked = second.check["bytesChecked"] as? Int ?? .max
        #expect(checked >= appended && checked <= appended + 2 * (5 << 20), "checked \(checked), appended \(appended)")
        #expect(checked < full / 2, "the second backup checked \(checked) of \(full + appended) bytes: a full check")

        // The state is a file in the daemon's state directory: a restarted daemon keeps it.
        stop(daemon)
        try regtestNode(w, blocks: 220)
        let before = try blockBytes(w)
        daemon = try startDaemon()
        let third = backup()
        #expect(third.job?["state"] as? String == "succeeded" && third.check["height"] as? Int == 220, "\(third.check)")
        #expect((third.check["bytesChecked"] as? Int ?? .max) < full / 2, "after a restart: \(third.check)")

        // Past the 4 KiB checkpoint an older check kept before each mark: only a chunk id sees it.
        let path = w.path("node/blocks/blk00000.dat")
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        var bytes = Array(good)
        bytes[bytes.count / 2] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(try blockBytes(w) == before)
        let fourth = backup()
        #expect(
            fourth.job?["state"] as? String == "failed"
                && (fourth.job?["error"] as? String ?? "").contains("chain check"), "\(fourth.job ?? [:])")
        #expect(fourth.check["valid"] as? Bool == false, "\(fourth.check)")
        let problems = fourth.check["firstProblems"] as? [String] ?? []
        #expect(problems.contains { $0.contains("blocks/blk00000.dat offset ") }, "\(problems)")
        #expect(get(port, "/metrics").1.contains("chainvault_chain_check_failed{policy=\"btc\"} 1"))
        stop(daemon)
        let event = try AuditLog.read(w.path("daemon-state/audit.log")).first { $0.action == "chain-check" }
        #expect(event?.result == "failed" && event?.details["required"] == "true", "\(String(describing: event))")
        // The flagged snapshot is kept but `latest` is still the third backup's valid chain.
        try w.ok(["restore", "latest", "--target", w.path("restored"), "--policy", "btc"])
        #expect(FileManager.default.contents(atPath: w.path("restored/blocks/blk00000.dat")) == good)
    }
}
