import Foundation
import Glibc
import S3TestSupport
import Testing

/// An API restore into a stop-mode policy's source that fails with its journal pending (a step
/// and the undoing of it both fail, injected): the post hook started the node on the half-restored
/// tree and the job's error did not mention `--rollback` (outside tester). Now the node stays
/// stopped, the `starting-node` phase is `skipped`, and the error says what finishes or undoes the
/// restore. A failure whose undo works leaves the old tree, and the node is started on it.
extension DaemonTests {
    @Test func anApiRestoreLeftHalfDoneNeverStartsTheNodeAndNamesRollback() throws {
        let w = try Workspace()
        try w.ok(["init"])
        let source = try w.makeSourceTree("node")
        let marks = w.path("hooks.log")
        try w.write("hooks/pre", Array("#!/bin/sh\necho pre >> \(marks)\n".utf8), mode: 0o755)
        try w.write("hooks/post", Array("#!/bin/sh\necho post >> \(marks)\n".utf8), mode: 0o755)
        try w.ok(["backup", source, "--policy", "node"])
        let snapshot = try #require(
            w.run(["snapshots", "--json", "--policy", "node"]).stdout
                .split(separator: "\"").first { $0.count == 64 }.map(String.init))
        // Daily two hours back: no scheduled backup runs the hooks during the test.
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let at = utc.dateComponents([.hour, .minute], from: Date().addingTimeInterval(-7200))
        try w.write(
            "policies/node.json",
            Array(
                """
                {"name":"node","source":"\(source)","consistency":{"mode":"stop","pre":["\(w.path("hooks/pre"))"],
                 "post":["\(w.path("hooks/post"))"]},"schedule":{"daily":"\(String(format: "%02d:%02d", at.hour!, at.minute!))"},
                 "retention":{"keepLast":3},"rpo":"48h"}
                """.utf8))
        let token = try adminToken(w)
        let port = TestPorts.take()
        try writeDaemonConfig(w, port: port)
        // Each point fails once in the daemon's process: the first restore fails a step and its
        // undo, the second (the step point used up) fails at its last step and is undone.
        w.environment["CHAINVAULT_TEST_FAIL_AT"] =
            "restore-in-place-second-step,restore-in-place-undo,restore-last-metadata"
        let daemon = try w.start(["daemon", "--config", w.path("config.json")])
        w.environment["CHAINVAULT_TEST_FAIL_AT"] = nil
        defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }
        #expect(waitFor(10) { get(port, "/livez").0 == 200 })
        func hookMarks() -> [String] {
            ((try? String(contentsOfFile: marks, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        try InPlaceRestoreTests.rot(source + "/blocks/blk00000.dat", at: 10, keepMtime: false)
        try w.write("node/stray.bin", [1, 2, 3])
        let before = treeFingerprint(source)
        let body = "{\"policy\":\"node\",\"target\":\"\(source)\",\"mode\":\"delta\"}"

        let halfDone = restoreThroughAPI(port, token, body)
        #expect(halfDone?["state"] as? String == "failed", "\(halfDone ?? [:])")
        #expect(phases(halfDone) == ["stopping-node:succeeded", "restoring:failed", "starting-node:skipped"])
        #expect(hookMarks() == ["pre"], "the node is not started on a half-restored tree")
        let error = halfDone?["error"] as? String ?? ""
        #expect(error.contains("the node was not started: \(source) is partly restored"), "\(error)")
        #expect(error.contains("'chainvault restore \(snapshot.prefix(8)) --target \(source) --rollback'"), "\(error)")
        #expect(FileManager.default.fileExists(atPath: source + "/.chainvault-restore/journal"))

        // The operator undoes it; the next API restore fails at its last step, is undone by
        // itself, and the node is started on the old tree.
        try w.ok(["restore", "latest", "--target", source, "--rollback"])
        #expect(treeFingerprint(source) == before)
        let undone = restoreThroughAPI(port, token, body)
        #expect(undone?["state"] as? String == "failed", "\(undone ?? [:])")
        #expect(
            (undone?["error"] as? String)?.contains("the restore was undone: \(source) is as it was before") == true,
            "\(undone ?? [:])")
        #expect(phases(undone) == ["stopping-node:succeeded", "restoring:failed", "starting-node:succeeded"])
        #expect(hookMarks() == ["pre", "pre", "post"])
        #expect(treeFingerprint(source) == before)

        let done = restoreThroughAPI(port, token, body)
        #expect(done?["state"] as? String == "succeeded", "\(done ?? [:])")
        #expect(hookMarks() == ["pre", "pre", "post", "pre", "post"])
        #expect(
            treeFingerprint(source)?["stray.bin"] == nil
                && !FileManager.default.fileExists(atPath: source + "/.chainvault-restore"))
    }
}
