import Foundation
import Glibc
import Testing
import VaultCore

/// Commands that only read work on a read-only repository (without a lock, with a warning);
/// commands that write fail clearly. `--no-lock` reads past a lock on purpose.
struct ReadOnlyRepositoryTests {
    /// Mounts the repository read-only in a private mount namespace, then runs the command there.
    static let script = #"r=$1; shift; mount --bind "$r" "$r" && mount -o remount,bind,ro "$r" && exec "$@""#

    static let canMountReadOnly: Bool = {
        let dir = NSTemporaryDirectory() + "cv-romount-" + UUID().uuidString.prefix(8)
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        p.arguments = ["-m", "/bin/sh", "-c", script, "sh", dir, "/bin/sh", "-c", "! touch \"$0/x\" 2>/dev/null", dir]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()

    func readOnly(_ w: Workspace, _ args: [String]) throws -> Workspace.Run {
        try w.run(
            ["-m", "/bin/sh", "-c", Self.script, "sh", w.repo, Workspace.binary] + args, executable: "/usr/bin/unshare")
    }

    @Test(
        .enabled(if: canMountReadOnly, "needs 'mount --bind' and 'mount -o remount,bind,ro' inside 'unshare -m' (root)")
    )
    func aReadOnlyRepositoryCanBeRestoredVerifiedAndListed() throws {
        let w = try Workspace()
        try w.ok(["init"])
        let src = try w.makeSourceTree()
        try w.ok(["backup", src])
        let warning = "refuses writes (read-only), so"

        let restore = try readOnly(w, ["restore", "latest", "--target", w.path("out")])
        #expect(restore.code == 0, "\(restore.stderr)")
        #expect(
            restore.stderr.contains(warning) && restore.stderr.contains("concurrent prune is not excluded"),
            "\(restore.stderr)")
        #expect(try treeDifferences(src, w.path("out")) == [])
        let verify = try readOnly(w, ["verify", "--read-data"])
        #expect(verify.code == 0 && verify.stdout.contains("no problems found"), "\(verify.stdout) \(verify.stderr)")
        #expect(verify.stderr.contains(warning), "\(verify.stderr)")
        let snapshots = try readOnly(w, ["snapshots"])
        #expect(snapshots.code == 0 && snapshots.stdout.contains(src), "\(snapshots.stderr)")
        let ls = try readOnly(w, ["ls", "latest"])
        #expect(ls.code == 0 && ls.stdout.contains("blk00000.dat"), "\(ls.stderr)")

        let backup = try readOnly(w, ["backup", src])
        #expect(backup.code == 16, "\(backup.code) \(backup.stderr)")
        #expect(
            backup.stderr.contains("refuses writes (read-only), and backup must write to it")
                && backup.stderr.contains("HINT: mount it read-write"), "\(backup.stderr)")
        let forget = try readOnly(w, ["forget", "--keep-last", "1", "--prune"])
        #expect(forget.code == 16 && forget.stderr.contains("refuses writes"), "\(forget.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: w.repo + "/locks").isEmpty)
        try w.ok(["verify"])
    }

    @Test func noLockReadsPastAnExclusiveLockAndWritersRefuseIt() throws {
        let w = try Workspace()
        try w.ok(["init"])
        let src = try w.makeSourceTree()
        try w.ok(["backup", src])
        // An exclusive lock held by a live process (this test runner) on this host.
        let lock = """
            {"exclusive":true,"hostname":"\(ProcessInfo.processInfo.hostName)","pid":\(getpid()),"username":"ops","command":"forget",\
            "time":"2026-01-01T00:00:00.000000000Z","refreshed":"2026-01-01T00:00:00.000000000Z"}
            """
        try w.write("repo/locks/abc", Array(lock.utf8))
        #expect(try w.run(["restore", "latest", "--target", w.path("out")]).code == 12)
        let restore = try w.run(["restore", "latest", "--target", w.path("out"), "--no-lock"])
        #expect(restore.code == 0 && restore.stderr.contains("without a lock (--no-lock)"), "\(restore.stderr)")
        #expect(try treeDifferences(src, w.path("out")) == [])
        let backup = try w.run(["backup", src, "--no-lock"])
        #expect(
            backup.code == 2 && backup.stderr.contains("--no-lock is only for commands that only read"),
            "\(backup.stderr)")
        try w.ok(["unlock", "--remove-all"])
    }
}
