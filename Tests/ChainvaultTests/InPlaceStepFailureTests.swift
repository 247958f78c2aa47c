import Foundation
import Glibc
import Testing

/// An in-place restore that fails after its journal is written (outside tester: a mode-000
/// directory to move aside, run as `nobody`) left a half-restored tree and a journal behind an
/// error that said nothing of either. Now it undoes its steps and says the target is as it was;
/// only if undoing fails too does the journal stay, and the error says so and names what finishes
/// it. `--rollback` of a restore killed after its last step says why it undoes nothing and leaves
/// nothing that blocks the next restore.
struct InPlaceStepFailureTests {
    static let canSwitchUser = geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
    static let strace = "/usr/bin/strace"

    /// Modification times (ns) of `paths`, to show directories got their old ones back.
    static func mtimes(_ paths: [String]) -> [Int] {
        paths.map { path in
            var st = stat()
            lstat(path, &st)
            return st.st_mtim.tv_sec * 1_000_000_000 + st.st_mtim.tv_nsec
        }
    }

    @Test(.enabled(if: canSwitchUser, "needs root and /usr/bin/setpriv to run the restore as nobody"))
    func aDirectoryItCannotMoveAsideIsPutBackAndTheErrorSaysSo() throws {
        let w = try Workspace()
        let (src, node) = try InPlaceFixture.restoredNode(w)
        try InPlaceRestoreTests.rot(node + "/blocks/blk00000.dat", at: 10, keepMtime: false)
        try w.write("node/extra/stray.bin", [1, 2, 3])
        // Moving a directory to another parent needs write permission on it: mode 000 refuses.
        #expect(mkdir(node + "/zz-locked", 0o700) == 0 && chmod(node + "/zz-locked", 0) == 0)
        let chown = try w.run(["-R", "nobody:nogroup", w.root], executable: "/bin/chown")
        #expect(chown.code == 0, "\(chown.stderr)")
        let before = treeFingerprint(node)
        let watched = [node, node + "/blocks", node + "/extra"]
        let times = Self.mtimes(watched)

        let failed = try w.run(
            [
                "--reuid=nobody", "--regid=nogroup", "--clear-groups", Workspace.binary,
                "restore", "latest", "--target", node
            ],
            env: ["HOME": w.root], executable: "/usr/bin/setpriv")
        #expect(failed.code == 16, "\(failed.stdout) \(failed.stderr)")
        #expect(failed.stderr.contains("permission denied: cannot move aside \(node)/zz-locked"), "\(failed.stderr)")
        #expect(failed.stderr.contains("the restore was undone: \(node) is as it was before"), "\(failed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: node + "/.chainvault-restore"), "no journal is left")
        #expect(treeFingerprint(node) == before, "exactly the tree before the restore")
        #expect(Self.mtimes(watched) == times, "directory mtimes (ns) are the old ones")

        // Once the operator fixes it, the same restore works (as root: the key is root's again).
        #expect(chmod(node + "/zz-locked", 0o700) == 0)
        #expect(try w.run(["-R", "root:root", w.root], executable: "/bin/chown").code == 0)
        try w.ok(["restore", "latest", "--target", node])
        #expect(try treeDifferences(src, node) == [])
    }

    /// As another user, a file owned by root whose mode differs from the snapshot's: its mode
    /// step fails (EPERM), and the undo must not fail the same way on what it never set (it did,
    /// and called the tree "partly restored" while every entry was back).
    @Test(.enabled(if: canSwitchUser, "needs root and /usr/bin/setpriv to run the restore as nobody"))
    func aModeItMayNotSetIsUndoneWithoutSettingItBack() throws {
        let w = try Workspace()
        let (_, node) = try InPlaceFixture.restoredNode(w)
        try InPlaceRestoreTests.rot(node + "/blocks/blk00000.dat", at: 10, keepMtime: false)
        try w.write("node/extra/stray.bin", [1, 2, 3])
        #expect(try w.run(["-R", "nobody:nogroup", w.root], executable: "/bin/chown").code == 0)
        #expect(chown(node + "/empty-file", 0, 0) == 0 && chmod(node + "/empty-file", 0o640) == 0)
        let before = treeFingerprint(node)
        let times = Self.mtimes([node, node + "/blocks", node + "/extra"])
        let failed = try w.run(
            [
                "--reuid=nobody", "--regid=nogroup", "--clear-groups", Workspace.binary,
                "restore", "latest", "--target", node
            ],
            env: ["HOME": w.root], executable: "/usr/bin/setpriv")
        #expect(failed.code == 16, "\(failed.stdout) \(failed.stderr)")
        #expect(failed.stderr.contains("the restore was undone: \(node) is as it was before"), "\(failed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: node + "/.chainvault-restore"), "no journal is left")
        #expect(treeFingerprint(node) == before)
        #expect(Self.mtimes([node, node + "/blocks", node + "/extra"]) == times)
    }

    /// A step fails and undoing it fails too (both injected): the journal stays, the error says
    /// the target is partly restored and names both ways out, and each works.
    @Test func aStepAndItsUndoBothFailingLeaveTheJournalAndSayWhatFinishesIt() throws {
        let w = try Workspace()
        let (src, node) = try InPlaceFixture.changedInSeveralDirectories(w)
        let before = treeFingerprint(node)
        for next in ["rollback", "complete"] {
            let failed = try w.run(
                ["restore", "latest", "--target", node],
                env: ["CHAINVAULT_TEST_FAIL_AT": "restore-in-place-second-step,restore-in-place-undo"])
            #expect(failed.code == 16, "\(next): \(failed.stdout) \(failed.stderr)")
            #expect(failed.stderr.contains("undoing the restore failed too"), "\(failed.stderr)")
            #expect(
                failed.stderr.contains(
                    "\(node) is partly restored, its journal is \(node)/.chainvault-restore/journal"),
                "\(failed.stderr)")
            #expect(
                failed.stderr.contains("run the same restore again to complete it, or add --rollback"),
                "\(failed.stderr)")
            #expect(FileManager.default.fileExists(atPath: node + "/.chainvault-restore/journal"))
            if next == "rollback" {
                let back = try w.ok(["restore", "latest", "--target", node, "--rollback", "--json"]).json
                #expect(back["rolledBack"] as? String != nil, "\(back)")
                #expect(treeFingerprint(node) == before, "exactly the tree before the restore")
            } else {
                let done = try w.ok(["restore", "latest", "--target", node, "--json"]).json
                #expect(done["completedInterrupted"] as? String != nil, "\(done)")
                #expect(try treeDifferences(src, node) == [])
            }
            #expect(!FileManager.default.fileExists(atPath: node + "/.chainvault-restore"))
        }
    }

    /// Killed after every step (the journal already `done`, SIGKILL at the clean-up's first
    /// unlink in the work directory): `--rollback` exited 2 saying "no interrupted restore" and
    /// left the work directory. Now it finishes the clean-up and says the restore had completed.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: strace), "needs strace to kill at a system call"))
    func aRollbackOfARestoreThatHadCompletedSaysSoAndLeavesNothingBehind() throws {
        let w = try Workspace()
        let (src, node) = try InPlaceFixture.restoredNode(w)
        try InPlaceRestoreTests.rot(node + "/blocks/text.log", at: 10, keepMtime: false)
        try w.write("node/stray.bin", [1, 2, 3])
        let work = node + "/.chainvault-restore"
        let killed = try w.run(
            [
                "-f", "-qq", "-o", "/dev/null", "-e", "trace=unlinkat",
                "-e", "inject=unlinkat:signal=KILL:when=1", "-P", work,
                Workspace.binary, "restore", "latest", "--target", node
            ], executable: Self.strace)
        #expect(killed.code != 0, "killed: \(killed.stderr)")
        #expect(FileManager.default.fileExists(atPath: work + "/done"), "killed in the done state")

        let rolled = try w.run(["restore", "latest", "--target", node, "--rollback"])
        #expect(rolled.code == 2, "\(rolled.stdout) \(rolled.stderr)")
        #expect(
            rolled.stderr.contains(
                "had completed before it was stopped (every step was carried out), so there is "
                    + "nothing to roll back; its clean-up is now finished"), "\(rolled.stderr)")
        #expect(
            rolled.stderr.contains("the previous content is kept at \(w.root)/node.pre-restore-"), "\(rolled.stderr)")
        #expect(!FileManager.default.fileExists(atPath: work), "nothing left to block the next restore")
        #expect(try treeDifferences(src, node) == [], "the restored tree stays")
        let again = try w.run(["restore", "latest", "--target", node])
        #expect(again.code == 0 && !again.stderr.contains("interrupted"), "\(again.stderr)")
    }
}
