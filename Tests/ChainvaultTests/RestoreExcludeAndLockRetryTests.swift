import Foundation
import Glibc
import Testing
import VaultCore
import VaultRepository
import VaultStorage

/// `restore --exclude` and `--retry-lock` (issue 15), through the binary.
struct RestoreExcludeAndLockRetryTests {
    func text(_ path: String) -> String? { (try? String(contentsOfFile: path, encoding: .utf8)) }

    @Test func excludedPathsAreNeitherRestoredNorRemoved() throws {
        let w = try Workspace()
        try w.ok(["init"])
        try w.write("src/data/blocks.dat", SecureRandom.bytes(300_000))
        try w.write("src/data/debug.log", Array("snapshot log\n".utf8))
        try w.write("src/keep/config.toml", Array("a = 1\n".utf8))
        try w.ok(["backup", w.path("src")])

        // Into a new directory: excluded entries are not written.
        let fresh = w.path("fresh")
        try w.ok(["restore", "latest", "--source", w.path("src"), "--target", fresh, "--exclude", "*.log"])
        #expect(FileManager.default.fileExists(atPath: fresh + "/data/blocks.dat"))
        #expect(!FileManager.default.fileExists(atPath: fresh + "/data/debug.log"))

        // In place: the live log and a live file the snapshot lacks stay as they are, while a
        // damaged file is rebuilt and an extra one the pattern does not cover is moved aside.
        let live = w.path("live")
        try w.ok(["restore", "latest", "--source", w.path("src"), "--target", live])
        try w.write("live/data/debug.log", Array("the node's own log\n".utf8))
        try w.write("live/data/node.log", Array("written after the backup\n".utf8))
        try w.write("live/keep/config.toml", Array("a = 2\n".utf8))
        try w.write("live/stray.bin", [1, 2, 3])
        try w.ok([
            "restore", "latest", "--source", w.path("src"), "--target", live, "--exclude", "*.log",
            "--exclude", "keep/config.toml"
        ])
        #expect(text(live + "/data/debug.log") == "the node's own log\n")
        #expect(text(live + "/data/node.log") == "written after the backup\n")
        #expect(text(live + "/keep/config.toml") == "a = 2\n")
        #expect(!FileManager.default.fileExists(atPath: live + "/stray.bin"))
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: live + "/data/blocks.dat"))
                == Data(contentsOf: URL(fileURLWithPath: w.path("src/data/blocks.dat"))))

        let refused = try w.run([
            "restore", "latest", "--source", w.path("src"), "--target", live, "--force",
            "--exclude", "*.log"
        ])
        #expect(
            refused.code == 2 && refused.stderr.contains("--exclude cannot be combined with --force"),
            "\(refused.stderr)")
    }

    /// Starts the binary with stderr going to a file the test can read while it runs.
    func start(_ w: Workspace, _ args: [String], stderr: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Workspace.binary)
        p.arguments = args
        p.environment = w.environment
        _ = FileManager.default.createFile(atPath: stderr, contents: nil)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderr))
        try p.run()
        return p
    }

    func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline { if condition() { return true }; usleep(50_000) }
        return condition()
    }

    @Test func aCommandWaitsForAHeldLockAndGetsItWhenReleased() throws {
        let w = try Workspace()
        try w.ok(["init"])
        try w.write("src/a", SecureRandom.bytes(100_000))
        let held = try RepositoryLock.acquire(LocalBackend(path: w.repo), exclusive: true, command: "prune (test)")
        var released = false
        defer { if !released { held.release() } }
        let log = w.path("backup.stderr")
        let p = try start(w, ["backup", w.path("src"), "--retry-lock", "5m"], stderr: log)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) }; p.waitUntilExit() }
        // The state the command reports: it found the lock and waits.
        #expect(waitFor(60) { text(log)?.contains("waiting up to 5m00s for the lock") == true }, "\(text(log) ?? "")")
        #expect(p.isRunning, "\(text(log) ?? "")")
        held.release()
        released = true
        #expect(waitFor(120) { !p.isRunning }, "the backup did not finish after the lock was released")
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(text(log) ?? "")")
        #expect(try w.ok(["snapshots", "--json"]).stdout.contains(w.path("src")))
    }

    @Test func aLockStillHeldAfterTheRetryDurationIsTheUsualLockError() throws {
        let w = try Workspace()
        try w.ok(["init"])
        try w.write("src/a", SecureRandom.bytes(1000))
        let held = try RepositoryLock.acquire(LocalBackend(path: w.repo), exclusive: true, command: "prune (test)")
        defer { held.release() }
        for args in [["backup", w.path("src")], ["verify"], ["forget", "--keep-last", "1"]] {
            let r = try w.run(args + ["--retry-lock", "1s"])
            #expect(r.code == 12, "\(args): \(r.stderr)")
            #expect(r.stderr.contains("waiting up to 1.00 s for the lock"), "\(args): \(r.stderr)")
            #expect(r.stderr.contains("the repository is locked exclusively by 'prune (test)'"), "\(args): \(r.stderr)")
        }
        let bad = try w.run(["verify", "--retry-lock", "soon"])
        #expect(bad.code == 2 && bad.stderr.contains("'soon' is not a duration"), "\(bad.stderr)")
    }
}
