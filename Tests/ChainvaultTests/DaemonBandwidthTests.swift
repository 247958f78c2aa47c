import Foundation
import Glibc
import Testing
import VaultCore

/// The daemon's `bandwidth` config keys (issue 15): the repository's upload limit holds a real
/// backup to its rate, a SIGHUP changes the rate for the next job, and a bad limit is named.
/// Lower bounds on time only (the limit guarantees them); random data, so nothing compresses.
extension DaemonTests {
    /// The `seconds=` of every succeeded `backup:demo` job in the daemon's log, in order.
    func backupSeconds(_ w: Workspace) -> [Double] {
        let log = (try? String(contentsOfFile: w.path("daemon.log"), encoding: .utf8)) ?? ""
        return log.split(separator: "\n").filter {
            let fields = $0.split(separator: " ")
            return fields.contains { $0.hasSuffix("event=job") } && fields.contains("kind=backup:demo")
                && fields.contains("result=succeeded")
        }.compactMap { line in
            line.split(separator: " ").first { $0.hasPrefix("seconds=") }.flatMap { Double($0.dropFirst(8)) }
        }
    }

    @Test func theRepositorysUploadLimitHoldsABackupAndAReloadChangesIt() throws {
        let w = try Workspace()
        let (port, token, config) = try prepareDaemon(w, nodeSize: "1M")
        try w.write("node/random-1", SecureRandom.bytes(8 << 20))
        try extendConfig(w, config, "\"bandwidth\":{\"limitUpload\":2048}")
        let p = try startLoggingDaemon(w)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }

        #expect(waitFor(120) { backupSeconds(w).count >= 1 }, "first backup: \(statusJSON(port))")
        let first = backupSeconds(w).first ?? 0
        #expect(first >= 3.5, "8 MiB at 2 MiB/s took \(first) s")

        // Half the rate after a reload: 4 MiB more now take ~4 s (at the old rate ~2 s).
        try extendConfig(w, config, "\"bandwidth\":{\"limitUpload\":1024}")
        kill(p.processIdentifier, SIGHUP)
        #expect(waitFor(30) { counter(port, "reloads") >= 1 })
        try w.write("node/random-2", SecureRandom.bytes(4 << 20))
        #expect(post(port, "/v1/policies/demo/backup", token: token).0 == 202)
        #expect(waitFor(120) { backupSeconds(w).count >= 2 }, "second backup: \(statusJSON(port))")
        let second = backupSeconds(w).dropFirst().first ?? 0
        #expect(second >= 3.0, "4 MiB at 1 MiB/s took \(second) s")
        kill(p.processIdentifier, SIGTERM)
        #expect(waitFor(30) { !p.isRunning })
    }

    @Test func aBadBandwidthLimitIsNamedAndTheDaemonDoesNotStart() throws {
        let w = try Workspace()
        let (_, _, config) = try prepareDaemon(w, nodeSize: "1M")
        try extendConfig(
            w, config,
            """
            "bandwidth":{"limitUpload":0,"copyTargets":{"s3:https://offsite/b":{"limitUplod":512}},"limitDownlod":1}
            """)
        let r = try w.run(["daemon", "--config", w.path("config.json")])
        #expect(r.code == 2, "\(r.stderr)")
        #expect(r.stderr.contains("bandwidth.limitUpload: 0.0 is not a positive rate in KiB/s"), "\(r.stderr)")
        #expect(
            r.stderr.contains("bandwidth.copyTargets[s3:https://offsite/b].limitUplod: unknown field"), "\(r.stderr)")
        #expect(r.stderr.contains("bandwidth.limitDownlod: unknown field"), "\(r.stderr)")
    }
}
