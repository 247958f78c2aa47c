import Foundation
import Glibc
import Testing

/// A staged swap killed after its staging copy lost the unfinished marker but before the
/// `renameat2(RENAME_EXCHANGE)` (failpoint `restore-staged-swap`) left the complete new copy
/// unmarked beside the target: the next `--force` kept it as `.pre-restore-*`, labelled the
/// previous content, and an in-place restore or `--rollback` said nothing of it. The staged
/// object's inode, noted before the marker goes, tells the next run that nothing was swapped.
struct RestoreSwapWindowTests {
    private func fixture() throws -> (Workspace, String) {
        let w = try Workspace()
        try w.write("src/a.txt", Array("new a".utf8))
        try w.write("src/sub/b.txt", Array("new b".utf8))
        try w.write("src/file.bin", Array("new file".utf8))
        try w.ok(["init"])
        try w.ok(["backup", w.path("src")])
        return (w, w.path("srv/node"))
    }

    private func names(_ dir: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
    }

    @Test func aDirectorySwapKilledBeforeTheExchangeIsRemovedNotKeptAsPrevious() throws {
        let (w, node) = try fixture()
        try w.write("srv/node/old.txt", Array("old".utf8))
        try InPlaceFixture.killed(w, ["restore", "latest", "--target", node, "--force"], at: "restore-staged-swap")
        #expect(names(node) == ["old.txt"], "the target is the old tree until the next restore")
        let staging = names(w.path("srv")).filter { $0.hasPrefix("node.chainvault-staging-") }
        #expect(staging.count == 1, "\(names(w.path("srv")))")

        // Neither an in-place restore's check nor --rollback may pass it over in silence; --rollback
        // removes it (RestoreSwapRollbackTests), so the kill is repeated for the --force below.
        let rolled = try w.run(["restore", "latest", "--target", node, "--rollback"])
        #expect(
            rolled.code == 0 && rolled.stdout.contains("removed " + node + ".chainvault-staging-"), "\(rolled.stdout)")
        try InPlaceFixture.killed(w, ["restore", "latest", "--target", node, "--force"], at: "restore-staged-swap")

        let forced = try w.run(["restore", "latest", "--target", node, "--force"])
        #expect(forced.code == 0, "\(forced.stderr)")
        #expect(!forced.stderr.contains("found the previous content"), "\(forced.stderr)")
        #expect(Set(names(node)) == ["a.txt", "sub", "file.bin"], "the new tree is live: \(names(node))")
        let beside = names(w.path("srv"))
        #expect(
            !beside.contains { $0.contains(".chainvault-staging-") || $0.contains(".chainvault-swap-") }, "\(beside)")
        let kept = beside.filter { $0.hasPrefix("node.pre-restore-") }
        #expect(kept.count == 1, "only the old tree is kept: \(beside)")
        for k in kept {
            #expect(
                names(w.path("srv/" + k)).contains("old.txt") && !names(w.path("srv/" + k)).contains("a.txt"),
                "\(k) holds the old tree, not the snapshot's: \(names(w.path("srv/" + k)))")
        }

        // An in-place restore of the node reports a leftover beside it.
        try w.write("srv/node/stray", [1])
        try InPlaceFixture.killed(w, ["restore", "latest", "--target", node, "--force"], at: "restore-staged-swap")
        let inPlace = try w.run(["restore", "latest", "--target", node])
        #expect(inPlace.code == 0, "\(inPlace.stderr)")
        #expect(inPlace.stderr.contains(node + ".chainvault-staging-"), "\(inPlace.stderr)")
    }

    @Test func aSingleFileSwapKilledBeforeTheExchangeIsRemovedNotKeptAsPrevious() throws {
        let (w, node) = try fixture()
        try w.ok(["restore", "latest", "--target", node])
        try w.write("srv/node/file.bin", Array("old file".utf8))
        let args = ["restore", "latest", "--target", node, "--path", "file.bin"]
        try InPlaceFixture.killed(w, args, at: "restore-staged-swap")
        #expect(FileManager.default.contents(atPath: node + "/file.bin") == Data("old file".utf8))
        #expect(names(node).contains { $0.hasPrefix("file.bin.chainvault-staging-") }, "\(names(node))")

        let again = try w.run(args)
        #expect(again.code == 0, "\(again.stderr)")
        #expect(!again.stderr.contains("found the previous content"), "\(again.stderr)")
        #expect(FileManager.default.contents(atPath: node + "/file.bin") == Data("new file".utf8))
        let beside = names(node)
        #expect(
            !beside.contains { $0.contains(".chainvault-staging-") || $0.contains(".chainvault-swap-") }, "\(beside)")
        let kept = beside.filter { $0.hasPrefix("file.bin.pre-restore-") }
        #expect(kept.count == 1, "only the old file is kept: \(beside)")
        for k in kept {
            #expect(
                FileManager.default.contents(atPath: node + "/" + k + "/file.bin") == Data("old file".utf8),
                "\(k) holds the old file")
        }
    }
}
