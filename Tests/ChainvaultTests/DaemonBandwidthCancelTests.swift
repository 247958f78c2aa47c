import Foundation
import Glibc
import Testing
import VaultCore

/// SIGTERM while a daemon job waits on a bandwidth limit (issue 11 D2): the job ends as
/// interrupted within seconds, not when the limit's debt is paid. 8 MiB of random data at
/// 256 KiB/s would take 32 s; SIGTERM goes once the job reports bytes read (waited for on the
/// daemon's status), and the daemon must be gone within 5 s, which the old `nanosleep` cannot do.
extension DaemonTests {
    @Test func sigtermEndsALimitedBackupJobWithinSecondsAsInterrupted() throws {
        let w = try Workspace()
        let (port, _, config) = try prepareDaemon(w, nodeSize: "1M")
        try w.write("node/random-1", SecureRandom.bytes(8 << 20))
        try extendConfig(w, config, "\"bandwidth\":{\"limitUpload\":256}")
        let p = try startLoggingDaemon(w)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }

        let reading = waitFor(60) {
            let running = statusJSON(port)["running"] as? [String: Any]
            return running?["policy"] as? String == "demo"
                && ((running?["progress"] as? [String: Any])?["bytes"] as? Int ?? 0) > 0
        }
        #expect(reading, "the backup job never reported bytes read: \(statusJSON(port))")
        let start = Date()
        kill(p.processIdentifier, SIGTERM)
        let stopped = waitFor(40) { !p.isRunning }
        let seconds = Date().timeIntervalSince(start)
        let log = (try? String(contentsOfFile: w.path("daemon.log"), encoding: .utf8)) ?? ""
        #expect(stopped && seconds < 5, "the daemon took \(seconds) s to stop a limited backup after SIGTERM:\n\(log)")
        if stopped { #expect(p.terminationStatus == 0) }
        #expect(
            log.split(separator: "\n").contains {
                $0.contains("event=job") && $0.contains("kind=backup:demo") && $0.contains("result=interrupted")
            },
            "no interrupted backup job in the log:\n\(log)")
        let verify = try w.run(["verify", "--read-data"])
        #expect(verify.code == 0, "\(verify.stdout)\n\(verify.stderr)")
    }
}
