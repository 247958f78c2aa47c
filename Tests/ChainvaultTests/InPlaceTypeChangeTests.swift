import Foundation
import Glibc
import Testing
import VaultCore

/// Issue 11 (outside tester): a live entry whose type differs from the snapshot's is moved aside
/// and replaced, whatever the two types are. A directory that became a file failed with exit 16
/// ("cannot read …/config/nodekey … Not a directory"): the reuse of live bytes looked for the
/// snapshot's files under a path whose parent is now a file.
struct InPlaceTypeChangeTests {
    /// A snapshot with directories, a symlink and a fifo; a live copy where each of them has
    /// another type: `config/` and `deep/a/b/` are files, the symlink and the fifo are directories.
    static func changedNode(_ w: Workspace) throws -> (src: String, old: [String: String]?) {
        let src = try w.makeSourceTree()
        try w.write("src/config/nodekey", SecureRandom.bytes(300_000))
        try w.write("src/config/keys/k1", Array("key one\n".utf8))
        try w.write("src/deep/a/b/c", SecureRandom.bytes(70_000))
        #expect(mkfifo(w.path("src/pipe"), 0o640) == 0)
        try w.ok(["init"])
        try w.ok(["backup", src])
        try w.ok(["restore", "latest", "--target", w.path("node")])
        let fm = FileManager.default
        try fm.removeItem(atPath: w.path("node/config"))
        try w.write("node/config", Array("iamfile\n".utf8))
        try fm.removeItem(atPath: w.path("node/deep/a/b"))
        try w.write("node/deep/a/b", Array("b is a file now\n".utf8))
        try fm.removeItem(atPath: w.path("node/blocks/current"))
        try w.write("node/blocks/current/inside.bin", SecureRandom.bytes(5_000))
        try fm.removeItem(atPath: w.path("node/pipe"))
        try w.write("node/pipe/inside.txt", Array("a directory where the fifo was\n".utf8))
        return (src, InPlaceInterruptionTests.fingerprint(w.path("node")))
    }

    /// `treeDifferences` reads files whole, which a fifo would block: the fifo is checked here and
    /// then left out of both trees.
    static func expectRestored(_ w: Workspace, _ src: String) throws {
        var st = stat()
        #expect(lstat(w.path("node/pipe"), &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO, "the fifo is back")
        unlink(w.path("node/pipe"))
        unlink(w.path("src/pipe"))
        #expect(try treeDifferences(src, w.path("node")) == [])
    }

    @Test func entriesWhoseTypeChangedAreMovedAsideAndReplaced() throws {
        let w = try Workspace()
        let (src, _) = try Self.changedNode(w)
        let r = try w.run(["restore", "latest", "--target", w.path("node"), "--json"])
        #expect(r.code == 0, "\(r.stderr)")
        #expect(r.json["mode"] as? String == "in-place")
        let previous = r.json["previous"] as? String ?? ""
        #expect(
            (try? String(contentsOfFile: previous + "/config", encoding: .utf8)) == "iamfile\n",
            "the file that stood where the directory goes is kept in the rollback directory")
        #expect((try? String(contentsOfFile: previous + "/deep/a/b", encoding: .utf8)) == "b is a file now\n")
        #expect(FileManager.default.fileExists(atPath: previous + "/blocks/current/inside.bin"))
        #expect(FileManager.default.fileExists(atPath: previous + "/pipe/inside.txt"))
        try Self.expectRestored(w, src)
    }

    /// Stopped after its first step (the file `config` already moved aside): `--rollback` gives
    /// exactly the old tree, the file back; the next run gives exactly the snapshot's.
    @Test(arguments: [false, true])
    func aTypeChangeRestoreKilledMidwayIsRolledBackOrCompleted(rollback: Bool) throws {
        let w = try Workspace()
        let (src, old) = try Self.changedNode(w)
        let args = ["restore", "latest", "--target", w.path("node")]
        let p = try InPlaceRestoreTests.startStopping(w, args, at: "restore-in-place-step")
        do { try InPlaceRestoreTests.waitStopped(p) } catch {
            p.waitUntilExit()
            Issue.record("the restore ended (exit \(p.terminationStatus)) before its first step")
            return
        }
        kill(p.processIdentifier, SIGKILL); kill(p.processIdentifier, SIGCONT)
        p.waitUntilExit()
        #expect(FileManager.default.fileExists(atPath: w.path("node/.chainvault-restore/journal")))
        if rollback {
            try w.ok(args + ["--rollback"])
            #expect(InPlaceInterruptionTests.fingerprint(w.path("node")) == old, "exactly the old tree")
            #expect((try? String(contentsOfFile: w.path("node/config"), encoding: .utf8)) == "iamfile\n")
            #expect(!FileManager.default.fileExists(atPath: w.path("node/.chainvault-restore")))
        } else {
            try w.ok(args)
            try Self.expectRestored(w, src)
        }
    }
}
