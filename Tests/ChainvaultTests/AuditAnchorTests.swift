import Foundation
import Glibc
import Testing

/// A cut audit log is a valid hash chain: `audit --verify` must still see what is missing, from
/// the anchor beside the log and from the repository's copy (issue 15).
extension DaemonTests {
    func cut(_ path: String, toLines n: Int) throws {
        let lines = String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
            .split(separator: "\n").prefix(n)
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
    }

    @Test func aLogCutToItsFirstEightLinesFailsVerification() throws {
        let w = try Workspace()
        try w.ok(["init"])
        let log = w.path("audit.log")
        // The CLI records into a log that exists (the daemon's, or one made for it).
        _ = FileManager.default.createFile(atPath: log, contents: nil, attributes: [.posixPermissions: 0o640])
        for _ in 1...10 { _ = try w.run(["unlock"], env: ["CHAINVAULT_AUDIT_LOG": log]) }
        let whole = try w.ok(["audit", "--verify", "--file", log])
        #expect(whole.stdout.contains("10 entries, chain intact"), "\(whole.stdout)\(whole.stderr)")

        try cut(log, toLines: 8)
        let cut = try w.run(["audit", "--verify", "--file", log])
        #expect(cut.code == 14, "\(cut.stdout)\(cut.stderr)")
        #expect(
            cut.stderr.contains("the log ends at entry 8, but its anchor \(log).head records 10 entries"),
            "\(cut.stderr)")
        #expect(cut.stderr.contains("entries 9 to 10 are missing"), "\(cut.stderr)")

        // Whoever cut the log may remove the anchor too: that is named as well.
        try FileManager.default.removeItem(atPath: log + ".head")
        let noAnchor = try w.run(["audit", "--verify", "--file", log, "--json"])
        #expect(noAnchor.code == 14)
        #expect(
            (noAnchor.json["problems"] as? [String])?.contains { $0.contains("audit.log.head is missing") } == true,
            "\(noAnchor.stdout)")
    }

    @Test func aCutLogIsCaughtByTheRepositorysCopyEvenWithoutItsAnchor() throws {
        let w = try Workspace()
        let (port, token, _) = try prepareDaemon(
            w, nodeSize: "1M",
            policy: """
                {"name":"demo","source":"\(w.path("node"))","consistency":{"mode":"live"},"schedule":{"every":"1h"},"retention":{"keepLast":5},"rpo":"1h"}
                """)
        let p = try w.start(["daemon", "--config", w.path("config.json")])
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) }; p.waitUntilExit() }
        #expect(waitFor(60) { counter(port, "jobsFinished") >= 1 }, "the first scheduled backup finishes")
        for _ in 1...2 {
            #expect(runAPIJob(port, token: token, "/v1/policies/demo/backup")["state"] as? String == "succeeded")
        }
        #expect(waitFor(60) { counter(port, "jobsFinished") >= 3 })
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        let log = w.path("state/audit.log")
        try w.ok(["audit", "--verify", "--file", log])

        try cut(log, toLines: 2)
        try FileManager.default.removeItem(atPath: log + ".head")
        let cut = try w.run(["audit", "--verify", "--file", log])
        #expect(cut.code == 14, "\(cut.stdout)\(cut.stderr)")
        #expect(cut.stderr.contains("the log ends at entry 2, but the repository's copy"), "\(cut.stderr)")
    }
}
