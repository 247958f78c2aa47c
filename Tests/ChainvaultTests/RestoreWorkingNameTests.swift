import Foundation
import Glibc
import Testing
import VaultCore

/// Issue 11, an outside tester's D3: an in-place restore killed in its rebuild left
/// `<target>/.chainvault-restore/new`; `--rollback` said "no interrupted restore", a backup then
/// recorded the directory, and restoring that snapshot failed ("File exists") and blocked every
/// later restore. A backup never records chainvault's own working names at a source root, a
/// restore clears an unfinished build that has no journal, and a snapshot that holds the working
/// directory (an older chainvault's backup) restores without it.
struct RestoreWorkingNameTests {
    /// A restored node with one damaged file, and an in-place restore of it killed in its rebuild.
    static func nodeWithAKilledRebuild(_ w: Workspace) throws -> (src: String, first: String, node: String) {
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        let first = try #require(try w.ok(["backup", src, "--json"]).json["snapshot"] as? String)
        let node = w.path("node")
        try w.ok(["restore", first, "--target", node])
        try InPlaceRestoreTests.rot(node + "/blocks/blk00000.dat", at: 1000, keepMtime: false)
        try InPlaceFixture.killed(w, ["restore", first, "--target", node], at: "restore-in-place-build")
        #expect(FileManager.default.fileExists(atPath: node + "/.chainvault-restore/new"), "killed in its rebuild")
        return (src, first, node)
    }

    static func withoutWork(_ tree: [String: String]?) -> [String: String]? {
        tree?.filter { !$0.key.hasPrefix(".chainvault-restore") }
    }

    @Test func aBackupAfterAKilledRestoreSkipsItsWorkAndThatSnapshotRestores() throws {
        let w = try Workspace()
        let (src, first, node) = try Self.nodeWithAKilledRebuild(w)
        let damaged = Self.withoutWork(treeFingerprint(node))
        let backup = try w.run(["backup", node, "--json"])
        #expect(backup.code == 0, "\(backup.stderr)")
        #expect(
            backup.stderr.contains("skipped \(node)/.chainvault-restore") && backup.stderr.contains("never backed up"),
            "the backup says what it skipped: \(backup.stderr)")
        let second = try #require(backup.json["snapshot"] as? String)
        let listed = try w.ok(["ls", second]).stdout
        #expect(!listed.contains(".chainvault-restore") && listed.contains("blk00000.dat"), "\(listed)")
        try w.ok(["restore", second, "--target", w.path("copy")])
        #expect(treeFingerprint(w.path("copy")) == damaged, "the snapshot is the node's tree, nothing of ours")
        let again = try w.run(["restore", second, "--target", node])
        #expect(again.code == 0, "\(again.stderr)")
        #expect(again.stderr.contains("unfinished work of an interrupted restore"), "\(again.stderr)")
        #expect(treeFingerprint(node) == damaged, "byte-identical, no work directory left")
        try w.ok(["restore", first, "--target", node])
        #expect(try treeDifferences(src, node) == [])
    }

    @Test func rollbackClearsTheUnfinishedWorkOfARestoreKilledBeforeItsJournal() throws {
        let w = try Workspace()
        let (_, first, node) = try Self.nodeWithAKilledRebuild(w)
        let before = Self.withoutWork(treeFingerprint(node))
        let r = try w.run(["restore", first, "--target", node, "--rollback"])
        #expect(r.code == 0, "\(r.stderr)")
        #expect(
            r.stdout.contains("removed \(node)/.chainvault-restore/new") && r.stdout.contains("as it was before"),
            "\(r.stdout)")
        #expect(!FileManager.default.fileExists(atPath: node + "/.chainvault-restore"))
        #expect(treeFingerprint(node) == before)
        let none = try w.run(["restore", first, "--target", node, "--rollback"])
        #expect(none.code == 2 && none.stderr.contains("no interrupted restore"), "\(none.stderr)")
    }

    /// A snapshot holding `.chainvault-restore` at its root (as an older chainvault backed it up)
    /// restores staged and in place without it; the same names deeper down, and a root entry
    /// of that name holding what chainvault never writes, are the user's and are kept. A marked
    /// staging directory is chainvault's at any depth (a `--path` restore stages beside its entry).
    @Test func theWorkingNamesAreOnlyOursAtTheRootAndARestoreNeverWritesThemThere() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.write("src/.chainvault-restore/new/0", SecureRandom.bytes(1000))
        try w.write("src/.chainvault-restore/notes.txt", Array("not chainvault's".utf8))
        try w.write("src/blocks/.chainvault-restore/new/0", SecureRandom.bytes(1000))
        try w.write("src/blocks/.chainvault-restore/journal", Array("deep".utf8))
        try w.write("src/blocks/x.chainvault-staging-1/.chainvault-incomplete", [])
        try w.write("src/y.chainvault-staging-1/.chainvault-incomplete", [])
        try w.ok(["init"])
        let backup = try w.run(["backup", src, "--json"])
        #expect(backup.code == 0 && backup.stderr.contains("skipped \(src)/y.chainvault-staging-1"), "\(backup.stderr)")
        #expect(backup.stderr.contains("skipped \(src)/blocks/x.chainvault-staging-1"), "\(backup.stderr)")
        #expect(!backup.stderr.contains("skipped \(src)/.chainvault-restore"), "\(backup.stderr)")
        let id = try #require(backup.json["snapshot"] as? String)
        let listed = try w.ok(["ls", id]).stdout
        for kept in [
            ".chainvault-restore/notes.txt", "blocks/.chainvault-restore/new/0", "blocks/.chainvault-restore/journal"
        ] {
            #expect(listed.contains(kept), "\(kept) is the user's: \(listed)")
        }
        #expect(!listed.contains("y.chainvault-staging-1") && !listed.contains("x.chainvault-staging-1"), "\(listed)")
        let expected = treeFingerprint(src)?.filter {
            !$0.key.hasPrefix(".chainvault-restore") && !$0.key.hasPrefix("y.")
                && !$0.key.hasPrefix("blocks/x.")
        }
        let staged = try w.run(["restore", id, "--target", w.path("copy")])
        #expect(
            staged.code == 0 && staged.stderr.contains("skipped .chainvault-restore of the snapshot"),
            "\(staged.stderr)")
        #expect(treeFingerprint(w.path("copy")) == expected)
        try InPlaceRestoreTests.rot(w.path("copy/blocks/blk00000.dat"), at: 10, keepMtime: false)
        let inPlace = try w.run(["restore", id, "--target", w.path("copy")])
        #expect(
            inPlace.code == 0 && inPlace.stderr.contains("skipped .chainvault-restore of the snapshot"),
            "\(inPlace.stderr)")
        #expect(treeFingerprint(w.path("copy")) == expected)
    }
}
