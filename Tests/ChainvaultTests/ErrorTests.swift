import Foundation
import Glibc
import Testing
import VaultCore
import VaultRepository
import VaultDaemon

/// Every operator-facing failure: a stable exit code, a message naming the object, a HINT.
struct ErrorTests {
    @Test func wrongKeyFailsCleanly() throws {
        let w = try Workspace()
        try w.ok(["init"])
        try w.write("other", SecureRandom.bytes(32), mode: 0o600)
        let r = try w.run(["snapshots"], env: ["CHAINVAULT_KEY_FILE": w.path("other")])
        #expect(r.code == 11)
        #expect(r.stderr.contains("wrong key file") && r.stderr.contains("HINT:"))
        #expect(r.stdout.isEmpty)
    }

    @Test func notARepository() throws {
        let w = try Workspace()
        let r = try w.run(["snapshots"])
        #expect(r.code == 10)
        #expect(r.stderr.contains("is not a chainvault repository") && r.stderr.contains("chainvault init"))
    }

    @Test func initRefusesAnExistingRepository() throws {
        let w = try Workspace()
        try w.ok(["init"])
        #expect(try w.run(["init"]).code == 19)
    }

    @Test func keyFilesReadableByOthersAreRefused() throws {
        let w = try Workspace()
        chmod(w.key, 0o644)
        let r = try w.run(["init"])
        #expect(r.code == 21)
        #expect(r.stderr.contains("chmod 600"))
    }

    @Test func missingSourceAndUnknownSnapshot() throws {
        let w = try Workspace()
        try w.ok(["init"])
        let missing = try w.run(["backup", w.path("nope")])
        #expect(missing.code == 13)
        #expect(missing.stderr.contains(w.path("nope")))
        let unknown = try w.run(["restore", "deadbeef", "--target", w.path("out")])
        #expect(unknown.code == 18)
        #expect(try w.run(["restore", "latest", "--target", w.path("out")]).code == 18)
    }

    @Test func aLockedRepositoryNamesWhoHoldsIt() throws {
        let w = try Workspace()
        try w.ok(["init"])
        // An exclusive lock held by a live process (this test runner) on this host.
        let lock = """
            {"exclusive":true,"hostname":"\(ProcessInfo.processInfo.hostName)","pid":\(getpid()),"username":"ops","command":"forget","time":"2026-01-01T00:00:00.000000000Z","refreshed":"\(Timestamp.now())"}
            """
        try w.write("repo/locks/abc", Array(lock.utf8))
        let r = try w.run(["backup", w.root])
        #expect(r.code == 12)
        #expect(
            r.stderr.contains("'forget'") && r.stderr.contains("pid \(getpid())")
                && r.stderr.contains("since 2026-01-01"))
        try w.ok(["unlock", "--remove-all"])
    }

    @Test func unreadableFilesAreReportedAndTheBackupCompletes() throws {
        guard geteuid() != 0 else { return }  // root reads everything; covered by the vanished-file path instead
        let w = try Workspace()
        let src = try w.makeSourceTree()
        chmod(src + "/blocks/text.log", 0)
        try w.ok(["init"])
        let r = try w.run(["backup", src])
        #expect(r.code == 3)
        #expect(r.stderr.contains("text.log"))
    }

    @Test func usageErrorsExitTwo() throws {
        let w = try Workspace()
        #expect(try w.run(["frobnicate"]).code == 2)
        #expect(try w.run(["backup"]).code == 2)
        #expect(try w.run(["restore", "latest"]).code == 2)
        #expect(try w.run(["verify", "--read-data-subset", "200%"]).code == 2)
        let help = try w.ok(["backup", "--help"])
        #expect(help.stdout.contains("Usage: chainvault backup SOURCE"))
    }
}

struct SourcePathTests {
    @Test func aSymlinkedSourceDirectoryIsFollowed() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try FileManager.default.createSymbolicLink(atPath: w.path("datadir"), withDestinationPath: src)
        try w.ok(["init"])
        try w.ok(["backup", w.path("datadir")])
        try w.ok(["restore", "latest", "--target", w.path("out")])
        #expect(try treeDifferences(src, w.path("out")) == [])
    }
}

struct PolicyCommandTests {
    @Test func shippedPoliciesPassAndABrokenOneIsExplainedLineByLine() throws {
        let w = try Workspace()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let ok = try w.run(
            ["policy", "check"]
                + ["bitcoind", "geth", "erigon", "nethermind", "solana", "cometbft", "demo"].map {
                    root + "/Policies/\($0).json"
                })
        #expect(ok.code == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("bitcoind.json: OK (every 6h)"))
        try w.write(
            "bad.json",
            Array(
                "{\n \"name\": \"x\",\n \"source\": \"/data\",\n \"consistency\": {\"mode\": \"stop\"},\n \"schedule\": {\"every\": \"1h\"},\n \"retention\": {\"keepLast\": 3},\n \"rpo\": \"30m\"\n}\n"
                    .utf8))
        let bad = try w.run(["policy", "check", w.path("bad.json")])
        #expect(bad.code == 2)
        #expect(bad.stderr.contains("bad.json:4: consistency.pre:"), "\(bad.stderr)")
        #expect(bad.stderr.contains("bad.json:7: rpo:"), "\(bad.stderr)")
    }
}

struct AuditCommandTests {
    @Test func changesMadeByHandAreAudited() throws {
        let w = try Workspace()
        let log = w.path("audit.log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        w.environment["CHAINVAULT_AUDIT_LOG"] = log
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        try w.ok(["snapshots"])  // read-only: not recorded
        try w.write("pass", Array("a passphrase\n".utf8), mode: 0o600)
        try w.ok(["key", "add", "--new-password-file", w.path("pass")])
        // A file as target is refused (a non-empty directory is now restored in place, issue 11).
        try w.write("plain-file", [1])
        // Refused: recorded as failed.
        #expect(try w.run(["restore", "latest", "--target", w.path("plain-file")]).code == 17)
        let entries = try AuditLog.read(log)
        #expect(entries.map(\.action) == ["backup", "key add", "restore"])
        #expect(entries.last?.result == "failed" && entries.last?.details["error"]?.contains("not empty") == true)
        #expect(AuditLog.verify(bytes: Array(FileManager.default.contents(atPath: log)!)).intact)
    }

    @Test func auditVerifyProvesTheChainAndNamesABrokenLine() throws {
        let w = try Workspace()
        let log = AuditLog(path: w.path("audit.log"))
        for i in 1...3 {
            try log.append(
                actor: "ops", action: "backup", subject: "policy demo", result: "succeeded", details: ["n": "\(i)"])
        }
        let ok = try w.ok(["audit", "--verify", "--file", w.path("audit.log")])
        #expect(ok.stdout.contains("3 entries, chain intact"))
        #expect(
            try w.ok(["audit", "--file", w.path("audit.log")]).stdout.contains("backup policy demo: succeeded  n=2"))
        var text = String(decoding: FileManager.default.contents(atPath: w.path("audit.log"))!, as: UTF8.self).split(
            separator: "\n"
        ).map(String.init)
        text.remove(at: 1)
        try w.write("audit.log", Array((text.joined(separator: "\n") + "\n").utf8))
        let broken = try w.run(["audit", "--verify", "--file", w.path("audit.log")])
        #expect(broken.code == 14)
        #expect(broken.stderr.contains("line 2: entry 3 does not follow"))
    }
}
