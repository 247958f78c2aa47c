import Foundation
import Glibc
import Testing
import VaultCore

/// A policy's own `limitUpload`/`limitDownload` (issue 15): it holds that policy's backup even
/// when the repository-wide limit is higher (the lower wins), a SIGHUP changes it for the next
/// job, and a bad value is refused naming the policy file, the line and the column. Lower
/// bounds on time only (the limit guarantees them); random data, so nothing compresses.
extension DaemonTests {
    func demoPolicy(_ w: Workspace, limit: String) -> String {
        """
        {"name":"demo","source":"\(w.path("node"))","consistency":{"mode":"live"},"schedule":{"every":"24h"},
         "retention":{"keepLast":3},"rpo":"48h",
         "limitUpload": \(limit)}
        """
    }

    @Test func aPolicysUploadLimitHoldsItsBackupUnderAHigherRepositoryLimitAndAReloadChangesIt() throws {
        let w = try Workspace()
        let (port, token, config) = try prepareDaemon(w, nodeSize: "1M", policy: demoPolicy(w, limit: "1024"))
        try w.write("node/random-1", SecureRandom.bytes(4 << 20))
        try extendConfig(w, config, "\"bandwidth\":{\"limitUpload\":16384}")
        let p = try startLoggingDaemon(w)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }

        #expect(waitFor(120) { backupSeconds(w).count >= 1 }, "first backup: \(statusJSON(port))")
        let first = backupSeconds(w).first ?? 0
        #expect(first >= 3.5, "5 MiB at the policy's 1 MiB/s (the repository allows 16) took \(first) s")

        // The policy's limit halved by a reload: 2 MiB more now take ≥ 3.75 s (at the old rate ~1.9 s).
        try w.write("policies/demo.json", Array(demoPolicy(w, limit: "512").utf8))
        kill(p.processIdentifier, SIGHUP)
        #expect(waitFor(30) { counter(port, "reloads") >= 1 })
        try w.write("node/random-2", SecureRandom.bytes(2 << 20))
        #expect(post(port, "/v1/policies/demo/backup", token: token).0 == 202)
        #expect(waitFor(120) { backupSeconds(w).count >= 2 }, "second backup: \(statusJSON(port))")
        let second = backupSeconds(w).dropFirst().first ?? 0
        #expect(second >= 3.5, "2 MiB at 512 KiB/s took \(second) s")
        kill(p.processIdentifier, SIGTERM)
        #expect(waitFor(30) { !p.isRunning })
    }

    @Test func aBadPolicyLimitIsRefusedWithTheFileLineAndColumn() throws {
        let w = try Workspace()
        for (value, message) in [
            ("0", "limitUpload: 0.0 is not a positive rate in KiB/s"),
            ("-2", "limitUpload: -2.0 is not a positive rate in KiB/s"),
            ("\"fast\"", "limitUpload: expected a number")
        ] {
            try w.write("policies/demo.json", Array(demoPolicy(w, limit: value).utf8))
            let r = try w.run(["policy", "check", w.path("policies/demo.json")])
            #expect(r.code == 2, "\(value): \(r.stderr)")
            // The value starts on line 3, after `"limitUpload": ` (column 17).
            #expect(r.stderr.contains("\(w.path("policies/demo.json")):3:17: \(message)"), "\(value): \(r.stderr)")
        }
        // The daemon refuses to start on it, with the same position.
        let (_, _, _) = try prepareDaemon(w, nodeSize: "1M", policy: demoPolicy(w, limit: "0"))
        let r = try w.run(["daemon", "--config", w.path("config.json")])
        #expect(r.code == 2, "\(r.stderr)")
        #expect(r.stderr.contains("demo.json:3:17: limitUpload: 0.0 is not a positive rate in KiB/s"), "\(r.stderr)")
    }
}
