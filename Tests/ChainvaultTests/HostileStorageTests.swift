import Foundation
import Glibc
import Testing
import VaultCore

/// Issue 14, "Hostile storage" and "Hostile local user": attacks by whoever can write the
/// repository (but holds no key) or owns files on the node, each run against the built binary.
struct HostileStorageTests {
    /// locks/ replaced by a symlink to another directory: every command refuses the repository,
    /// and `unlock` deletes nothing there (it deleted every file of that directory as "unreadable").
    @Test func unlockNeverDeletesThroughASymlinkedLocksDirectory() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        try w.write("victim/important.txt", Array("not a lock".utf8))
        try w.write("victim/" + String(repeating: "ab", count: 16), Array("also not a lock".utf8))
        try FileManager.default.removeItem(atPath: w.repo + "/locks")
        try FileManager.default.createSymbolicLink(atPath: w.repo + "/locks", withDestinationPath: w.path("victim"))
        for args in [["unlock"], ["unlock", "--remove-all"], ["backup", src], ["verify"]] {
            let r = try w.run(args)
            #expect(r.code == 20, "\(args): \(r.code) \(r.stderr)")
            #expect(
                r.stderr.contains("locks is a symbolic link: chainvault never follows links inside a repository"),
                "\(args): \(r.stderr)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: w.path("victim")).count == 2)
    }

    /// A file in locks/ that is not a lock chainvault wrote is reported and left, not deleted.
    @Test func unlockRemovesOnlyWhatItCanProveIsALock() throws {
        let w = try Workspace()
        try w.ok(["init"])
        let junk = "repo/locks/" + String(repeating: "cd", count: 16)
        try w.write(junk, Array("\u{0}garbage{".utf8))
        let r = try w.ok(["unlock"])
        #expect(
            r.stderr.contains("locks/\(String(repeating: "cd", count: 16)) is not a chainvault lock, left in place"),
            "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: w.path(junk)))
        try w.ok(["unlock", "--remove-all"])
        #expect(!FileManager.default.fileExists(atPath: w.path(junk)))
    }

    /// A key file with mode 0600 but owned by another user is theirs to replace: refused.
    @Test func aKeyFileOwnedByAnotherUserIsRefused() throws {
        guard geteuid() == 0 else {
            print("skipped: changing a file's owner needs root")
            return
        }
        let w = try Workspace()
        try w.ok(["init"])
        #expect(chown(w.key, 65534, 65534) == 0)
        let r = try w.run(["snapshots"])
        #expect(r.code == 21, "\(r.code) \(r.stderr)")
        #expect(
            r.stderr.contains("key file \(w.key) is owned by another user (uid 65534), not by uid 0 or root"),
            "\(r.stderr)")
        #expect(r.stderr.contains("HINT"), "\(r.stderr)")
        #expect(chown(w.key, 0, 0) == 0)
        try w.ok(["snapshots"])
    }

    /// A 2 GiB sparse file planted in index/: a clear "too large" error naming it, and the command
    /// never allocates it (its peak memory, from wait4, stays far below).
    @Test func aHugeIndexFileIsRefusedBeforeItIsRead() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        let name = String(repeating: "ee", count: 32)
        let fd = open(w.repo + "/index/" + name, O_WRONLY | O_CREAT, 0o600)
        #expect(fd >= 0 && ftruncate(fd, 2 << 30) == 0)
        close(fd)
        for args in [["verify"], ["restore", "latest", "--target", w.path("out")]] {
            let (code, stderr, peakKiB) = try runMeasured(w, args)
            #expect(code == 14, "\(args): \(code) \(stderr)")
            #expect(
                stderr.contains("index/\(name) in the repository at \(w.repo) is too large: 2147483648 bytes"),
                "\(args): \(stderr)")
            #expect(peakKiB < 512 << 10, "\(args): peak RSS \(peakKiB) KiB")
        }
    }

    /// Runs the binary and returns its own peak resident set. Not through posix_spawn from this
    /// process: glibc spawns with CLONE_VM|CLONE_VFORK, and the kernel carries the parent's
    /// high-water mark into the child at exec, so the child's ru_maxrss would be at least this test
    /// process's (670 MB seen with the whole suite in one process). A small Python process forks
    /// (a real fork of a ~10 MB process), the child execs the binary, and wait4 gives its rusage.
    func runMeasured(_ w: Workspace, _ args: [String]) throws -> (Int32, String, Int) {
        let errPath = w.path("stderr-\(UUID().uuidString.prefix(6))")
        let peakPath = errPath + ".peak"
        let script = """
            import os, sys
            pid = os.fork()
            if pid == 0:
                fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600); os.dup2(fd, 2)
                null = os.open("/dev/null", os.O_WRONLY); os.dup2(null, 1)
                os.execv(sys.argv[3], sys.argv[3:])
            _, status, usage = os.wait4(pid, 0)
            open(sys.argv[1], "w").write(str(usage.ru_maxrss))
            sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, peakPath, errPath, Workspace.binary] + args
        p.environment = w.environment
        try p.run()
        p.waitUntilExit()
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        let peak = Int((try? String(contentsOfFile: peakPath, encoding: .utf8)) ?? "") ?? Int.max
        return (p.terminationStatus, stderr, peak)
    }
}
