import Foundation
import Glibc
import Testing

/// Issue 11 §3: leftovers are never mislabelled or backed up as data. The previous content a
/// restore keeps (`<name>.pre-restore-<time>`: a staged swap's old tree, an in-place restore's
/// rollback directory, a single file's old copy) carried no marker, so a backup of a source
/// holding one at its root recorded it as node data (old binary). Each now holds
/// `.chainvault-previous`; a backup skips them at the root and says so, a restore leaves them
/// where they are and reports them with what to do, and a user's own such name is backed up.
struct RestoreLeftoverMarkerTests {
    @Test func previousContentKeptAtASourceRootIsSkippedByABackupAndReportedByARestore() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        let first = try #require(try w.ok(["backup", src, "--json"]).json["snapshot"] as? String)
        let node = w.path("srv/node")
        try w.ok(["restore", "latest", "--target", node])
        // In place with --path (rollback kept beside blocks, at the node's root), a single file
        // (kept beside it), and --force of the whole node (its old tree kept beside it, in srv).
        try InPlaceRestoreTests.rot(node + "/blocks/blk00000.dat", at: 10, keepMtime: false)
        let blocks = try w.ok(["restore", "latest", "--target", node, "--path", "blocks", "--json"]).json
        try w.write("srv/node/empty-file", [1, 2, 3])
        let single = try w.ok(["restore", "latest", "--target", node, "--path", "empty-file", "--json"]).json
        #expect(
            FileManager.default.contents(atPath: single["previous"] as? String ?? "") == Data([1, 2, 3]),
            "the old file is kept: \(single)")
        try w.write("srv/node/stray", [4])
        let forced = try w.ok(["restore", "latest", "--target", node, "--force", "--json"]).json
        let kept = [blocks, single, forced].map { $0["previous"] as? String ?? "" }
        #expect(
            kept[0].hasPrefix(node + "/blocks.pre-restore-") && kept[2].hasPrefix(node + ".pre-restore-"),
            "\(kept)")
        #expect(kept[1].contains(node + "/empty-file.pre-restore-"), "\(kept)")
        #expect(FileManager.default.fileExists(atPath: kept[2] + "/stray"), "the old tree is kept")
        // The forced restore moved the first two with the old tree: make them again in the node.
        try w.ok(["restore", "latest", "--target", node, "--path", "blocks", "--force"])
        try w.write("srv/node/empty-file", [5])
        try w.ok(["restore", "latest", "--target", node, "--path", "empty-file"])
        try w.write("srv/node/mine.pre-restore-1/notes.txt", Array("the user's".utf8))

        for source in [node, w.path("srv")] {
            let backup = try w.run(["backup", source, "--json"])
            #expect(backup.code == 0, "\(backup.stderr)")
            let id = try #require(backup.json["snapshot"] as? String)
            let listed = try w.ok(["ls", id]).stdout
            // At any depth (a `--path` restore keeps its copy beside the entry, inside the node):
            // none of chainvault's stamped copies is data, a user's own such name is.
            #expect(!listed.contains(".pre-restore-2"), "\(source): \(listed)")
            #expect(listed.contains("mine.pre-restore-1/notes.txt"), "a user's own name is data: \(listed)")
            #expect(backup.stderr.contains("previous content kept by a restore"), "\(source): \(backup.stderr)")
            #expect(backup.stderr.contains("skipped \(node)/blocks.pre-restore-"), "\(backup.stderr)")
            #expect(backup.stderr.contains("skipped \(node)/empty-file.pre-restore-"), "\(backup.stderr)")
            if source != node {
                #expect(backup.stderr.contains("skipped \(node).pre-restore-"), "\(backup.stderr)")
            }
        }
        // An in-place restore of the node leaves them (it does not move them into its rollback
        // directory as entries the snapshot lacks) and says what they are and what to do.
        try InPlaceRestoreTests.rot(node + "/blocks/blk00000.dat", at: 20, keepMtime: false)
        let again = try w.run(["restore", first, "--target", node])
        #expect(again.code == 0, "\(again.stderr)")
        #expect(
            again.stderr.contains("left \(node)/blocks.pre-restore-") && again.stderr.contains("remove it"),
            "\(again.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: node)
        let ours = names.filter { $0.hasPrefix("blocks.pre-restore-2") || $0.hasPrefix("empty-file.pre-restore-2") }
        #expect(ours.count == 2, "\(names)")
        #expect(!names.contains("mine.pre-restore-1"), "a user's own entry the snapshot lacks is moved aside as always")
        // --rollback of an interrupted restore names what earlier restores kept, and what to do.
        try InPlaceRestoreTests.rot(node + "/blocks/blk00000.dat", at: 30, keepMtime: false)
        try InPlaceFixture.killed(w, ["restore", first, "--target", node], at: "restore-in-place-step")
        let rolled = try w.run(["restore", first, "--target", node, "--rollback"])
        #expect(rolled.code == 0, "\(rolled.stderr)")
        #expect(
            rolled.stderr.contains("left \(node)/blocks.pre-restore-")
                && rolled.stderr.contains("kept \(node).pre-restore-")
                && rolled.stderr.contains("remove it once the node runs well"), "\(rolled.stderr)")
    }

    /// A single file restored with `--path` deep in a node keeps its old copy beside it
    /// (`blocks/blk00000.dat.pre-restore-*`): the next backup of the node skipped only leftovers at
    /// its root and stored that copy as node data (outside tester; old binary: listed).
    @Test func aNestedSingleFilesKeptCopyIsNeverBackedUpButAUsersOwnSuchNameIs() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        let node = w.path("srv/node")
        try w.ok(["restore", "latest", "--target", node])
        try InPlaceRestoreTests.rot(node + "/blocks/blk00000.dat", at: 10, keepMtime: false)
        let single = try w.ok(["restore", "latest", "--target", node, "--path", "blocks/blk00000.dat", "--json"]).json
        let kept = single["previous"] as? String ?? ""
        #expect(kept.hasPrefix(node + "/blocks/blk00000.dat.pre-restore-"), "\(single)")
        try w.write("srv/node/blocks/own.pre-restore-1/notes.txt", Array("the user's".utf8))
        let backup = try w.run(["backup", node, "--json"])
        #expect(backup.code == 0, "\(backup.stderr)")
        let id = try #require(backup.json["snapshot"] as? String)
        let listed = try w.ok(["ls", id]).stdout
        #expect(!listed.contains("blk00000.dat.pre-restore-"), "the kept copy is not node data: \(listed)")
        #expect(listed.contains("/blocks/own.pre-restore-1/notes.txt"), "a user's own name is data: \(listed)")
        #expect(backup.stderr.contains("skipped \(node)/blocks/blk00000.dat.pre-restore-"), "\(backup.stderr)")
    }
}
