import Foundation
import Glibc
import S3TestSupport
import Testing
import VaultCore

/// Drills into a scratch directory the policy names (issue 11 §5, `restoreDrill.scratch`): the
/// space is checked first (a failure names the amount needed), the snapshot is restored there and
/// read back against the snapshot, and the drill's directory is removed afterwards, also when
/// the drill fails.
extension DaemonTests {
    /// The daemon's log lines (logfmt on stderr) of finished drill jobs of `policy`.
    func drillLines(_ log: String, _ policy: String) -> [String] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            .filter { $0.contains("event=job ") && $0.contains("kind=drill:\(policy)") }
    }

    @Test(.enabled(if: RealDiskFullTests.canMount, "mounting a tmpfs needs root"))
    func aScratchDrillRestoresComparesAndRemovesItsTreeAndRefusesTooLittleSpace() throws {
        let w = try Workspace()
        try w.ok(["init"])
        let node = try w.makeSourceTree("node")
        try w.ok(["backup", node, "--policy", "roomy"])
        try w.ok(["backup", node, "--policy", "cramped"])
        try w.ok(["backup", node, "--policy", "broken"])
        let scratch = w.path("scratch"), small = w.path("small")
        for d in [scratch, small] { mkdir(d, 0o700) }
        #expect(mount("tmpfs", small, "tmpfs", 0, "size=1m") == 0)
        defer { umount2(small, Int32(MNT_DETACH)) }
        for (name, dir) in [("roomy", scratch), ("cramped", small), ("broken", w.path("missing"))] {
            try w.write(
                "policies/\(name).json",
                Array(
                    livePolicy(
                        w, name: name, source: node, extra: "\"restoreDrill\":{\"every\":\"2s\",\"scratch\":\"\(dir)\"}"
                    ).utf8))
        }
        let token = "token-" + UUID().uuidString
        try w.write("token", Array(token.utf8), mode: 0o600)
        let port = TestPorts.take()
        try w.write(
            "config.json",
            Array(
                """
                {"repository":"\(w.repo)","keyFile":"\(w.key)","policies":"\(w.path("policies"))","listen":"127.0.0.1:\(port)",
                 "apiTokenFile":"\(w.path("token"))","stateDirectory":"\(w.path("state"))"}
                """.utf8))
        let log = w.path("daemon.log")
        #expect(FileManager.default.createFile(atPath: log, contents: nil))
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: Workspace.binary)
        daemon.arguments = ["daemon", "--config", w.path("config.json")]
        daemon.environment = w.environment
        daemon.standardOutput = FileHandle.nullDevice
        daemon.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try daemon.run()
        defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }

        // Two drills of each: the second one shows the first left nothing behind.
        #expect(
            waitFor(120) { ["roomy", "cramped", "broken"].allSatisfy { drillLines(log, $0).count >= 2 } },
            "two drills of each policy finished")
        let roomy = drillLines(log, "roomy"), cramped = drillLines(log, "cramped"), broken = drillLines(log, "broken")
        #expect(roomy.allSatisfy { $0.contains("result=succeeded") }, "\(roomy)")
        #expect(roomy.first?.contains("files=") == true, "\(roomy)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch) == [], "the drill's tree is removed")
        #expect(
            cramped.allSatisfy {
                $0.contains("result=failed") && $0.contains("needs") && $0.contains("MiB")
                    && $0.contains(small)
            }, "\(cramped)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: small) == [], "nothing was written")
        #expect(broken.allSatisfy { $0.contains("result=failed") && $0.contains("does not exist") }, "\(broken)")
        let metrics = get(port, "/metrics").1
        #expect(metrics.contains("chainvault_restore_drill_last_duration_seconds{policy=\"roomy\"} "))

        // The largest pack damaged in its middle: the next drill's restore fails part-way through
        // (its other packs' files are written by then), and what it wrote is gone all the same.
        let packs = (FileManager.default.enumerator(atPath: w.repo + "/data")?.allObjects as? [String] ?? [])
            .filter { $0.count > 60 }
        func size(_ p: String) -> Int {
            (try? FileManager.default.attributesOfItem(atPath: w.repo + "/data/" + p))?[.size] as? Int ?? 0
        }
        let largest = w.repo + "/data/" + (packs.max { size($0) < size($1) } ?? "-")
        chmod(largest, 0o600)
        let fd = open(largest, O_WRONLY)
        var junk = [UInt8](repeating: 0x5A, count: 4096)
        #expect(pwrite(fd, &junk, junk.count, off_t(size(String(largest.dropFirst(w.repo.count + 6))) / 2)) == 4096)
        close(fd)
        let before = roomy.count
        #expect(
            waitFor(120) { drillLines(log, "roomy").dropFirst(before + 1).contains { $0.contains("result=failed") } },
            "a drill after the damage fails")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: scratch) == [], "the failed drill's tree is removed")
        kill(daemon.processIdentifier, SIGTERM)
        #expect(waitFor(20) { !daemon.isRunning })
    }
}
