import Foundation
import Glibc
import Testing

/// A `--path` restore killed just before its swap leaves, beside the entry deep inside the node,
/// its staging directory (marker already gone) and its swap note, a plain file: the next backup
/// stored the note as node data (outside tester). Both are chainvault's own, recognised by what
/// it wrote into them: backups skip them and say so, an in-place restore leaves them and names
/// them, and the next restore of that path clears them. A user's file of such a name is data.
struct RestoreSwapNoteLeftoverTests {
    @Test func aKilledPathRestoresSwapNoteIsNeverBackedUpAndRestoresNameIt() throws {
        let w = try Workspace()
        let (src, node) = try InPlaceFixture.restoredNode(w)
        let first = try #require(
            try w.ok(["snapshots", "--json"]).stdout.split(separator: "\"")
                .first { $0.count == 64 }.map(String.init))
        try InPlaceRestoreTests.rot(node + "/blocks/blk00000.dat", at: 10, keepMtime: false)
        let single = ["restore", first, "--target", node, "--path", "blocks/blk00000.dat"]
        try InPlaceFixture.killed(w, single, at: "restore-staged-swap")
        let blocks = try FileManager.default.contentsOfDirectory(atPath: node + "/blocks")
        let note = try #require(blocks.first { $0.hasPrefix("blk00000.dat.chainvault-swap-") }, "\(blocks)")
        #expect(blocks.contains { $0.hasPrefix("blk00000.dat.chainvault-staging-") }, "\(blocks)")
        try w.write("node/blocks/own.chainvault-swap-1", Array("the user's notes\n".utf8))

        let backup = try w.run(["backup", node, "--json"])
        #expect(backup.code == 0, "\(backup.stderr)")
        #expect(
            backup.stderr.contains("skipped \(node)/blocks/\(note): the swap note of an interrupted restore"),
            "\(backup.stderr)")
        let listed = try w.ok(["ls", try #require(backup.json["snapshot"] as? String)]).stdout
        #expect(!listed.contains("blk00000.dat.chainvault-"), "chainvault's own are not node data: \(listed)")
        #expect(listed.contains("/blocks/own.chainvault-swap-1"), "a user's own name is data: \(listed)")

        // In place (the whole node from the first snapshot): left where they are, and named.
        let inPlace = try w.run(["restore", first, "--target", node])
        #expect(inPlace.code == 0, "\(inPlace.stderr)")
        #expect(inPlace.stderr.contains("left \(node)/blocks/\(note): the swap note"), "\(inPlace.stderr)")
        #expect(FileManager.default.fileExists(atPath: node + "/blocks/" + note), "not moved aside")

        // The next restore of that path clears the note and the staging copy it names (also when
        // the file is already the snapshot's, as here, and stays).
        let cleared = try w.ok(single)
        #expect(cleared.stderr.contains("removed \(node)/blocks/blk00000.dat.chainvault-staging-"), "\(cleared.stderr)")
        let after = try FileManager.default.contentsOfDirectory(atPath: node + "/blocks")
        #expect(!after.contains { $0.contains(".chainvault-swap-") && $0 != "own.chainvault-swap-1" }, "\(after)")
        #expect(!after.contains { $0.contains(".chainvault-staging-") }, "\(after)")
        #expect(
            FileManager.default.contents(atPath: node + "/blocks/blk00000.dat")
                == FileManager.default.contents(atPath: src + "/blocks/blk00000.dat"))
    }
}
