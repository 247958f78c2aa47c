import Foundation
import Glibc
import S3TestSupport
import Testing

/// Issue 11 §3/§5: a drill killed before it removed its scratch tree left it unmarked in the
/// policy's scratch directory for ever (old binary: the next drills left it there). A drill's
/// directory now holds its marker before anything is restored into it: the next drill removes
/// it and says so (`clearedScratch=` in its job line), and a backup of a source that holds one
/// at its root skips it.
extension DaemonTests {
    @Test(.timeLimit(.minutes(3))) func aKilledDrillsScratchIsClearedByTheNextDrillAndNeverBackedUp() throws {
        let w = try Workspace()
        try w.ok(["init"])
        let node = try w.makeSourceTree("node")
        try w.ok(["backup", node, "--policy", "drilled"])
        let scratch = w.path("scratch")
        mkdir(scratch, 0o700)
        try w.write(
            "policies/drilled.json",
            Array(
                """
                {"name":"drilled","source":"\(node)","consistency":{"mode":"live"},"schedule":{"every":"24h"},
                 "retention":{"keepLast":3},"rpo":"48h","restoreDrill":{"every":"2s","scratch":"\(scratch)"}}
                """.utf8))
        try w.write("token", Array(("token-" + UUID().uuidString).utf8), mode: 0o600)
        try w.write(
            "config.json",
            Array(
                """
                {"repository":"\(w.repo)","keyFile":"\(w.key)","policies":"\(w.path("policies"))",
                 "listen":"127.0.0.1:\(TestPorts.take())","apiTokenFile":"\(w.path("token"))",
                 "stateDirectory":"\(w.path("state"))"}
                """.utf8))
        let log = w.path("daemon.log")
        func startDaemon(_ env: [String: String]) throws -> Process {
            let daemon = Process()
            daemon.executableURL = URL(fileURLWithPath: Workspace.binary)
            daemon.arguments = ["daemon", "--config", w.path("config.json")]
            daemon.environment = w.environment.merging(env) { $1 }
            daemon.standardOutput = FileHandle.nullDevice
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            try handle.seekToEnd()
            daemon.standardError = handle
            try daemon.run()
            return daemon
        }
        #expect(FileManager.default.createFile(atPath: log, contents: nil))
        // The first drill stops the daemon once its restore has written the tree; killed there.
        let first = try startDaemon(["CHAINVAULT_TEST_STOP_AT": "restore-staged-written"])
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        try InPlaceRestoreTests.waitStopped(first)
        kill(first.processIdentifier, SIGKILL)
        kill(first.processIdentifier, SIGCONT)
        first.waitUntilExit()
        let left = try FileManager.default.contentsOfDirectory(atPath: scratch)
        #expect(left.count == 1, "the killed drill's tree: \(left)")
        let leftover = scratch + "/" + (left.first ?? "-")

        let backup = try w.run(["backup", scratch, "--json"])
        #expect(backup.code == 0 && backup.stderr.contains("skipped \(leftover)"), "\(backup.stderr)")
        let id = try #require(backup.json["snapshot"] as? String)
        #expect(!(try w.ok(["ls", id]).stdout.contains("blk00000.dat")), "a drill's tree is not the source's data")

        let daemon = try startDaemon([:])
        defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }
        #expect(
            waitFor(120) { drillLines(log, "drilled").contains { $0.contains("result=succeeded") } },
            "a drill passed")
        let passed = drillLines(log, "drilled").first { $0.contains("result=succeeded") } ?? ""
        #expect(passed.contains("clearedScratch=") && passed.contains(left.first ?? "-"), "\(passed)")
        #expect(!FileManager.default.fileExists(atPath: leftover), "the next drill removed it")
        kill(daemon.processIdentifier, SIGTERM)
        #expect(waitFor(20) { !daemon.isRunning })
    }
}
