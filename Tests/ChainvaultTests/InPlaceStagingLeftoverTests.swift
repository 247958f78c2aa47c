import Foundation
import Testing
import VaultCore

/// An outside tester (session 10): a `--force` restore killed in its fetch leaves its staging copy
/// beside the target, and the next plain (in-place) restore only named it, so a second tree of the
/// node's size stayed on a disk that rarely has room for one. The in-place restore now removes
/// copies that were never swapped in (marked unfinished) before it checks its space, and says so;
/// a previous tree a swap put there is still only reported.
@Suite struct InPlaceStagingLeftoverTests {
    @Test(.timeLimit(.minutes(5))) func anInPlaceRestoreRemovesAKilledForceRestoresUnswappedCopy() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.write("src/blocks/blk00001.dat", SecureRandom.bytes(6 << 20))
        try w.ok(["init"])
        try w.ok(["backup", src])
        try w.ok(["restore", "latest", "--target", w.path("node")])
        try w.write("node/blocks/blk00001.dat", SecureRandom.bytes(6 << 20))
        try InPlaceFixture.killed(w, ["restore", "latest", "--target", w.path("node"), "--force"], at: "restore-fetch")
        let staging = {
            try FileManager.default.contentsOfDirectory(atPath: w.root).filter { $0.contains(".chainvault-staging-") }
        }
        let left = try staging()
        #expect(left.count == 1, "the killed --force left its staging copy: \(left)")
        let r = try w.ok(["restore", "latest", "--target", w.path("node")])
        #expect(try staging() == [], "the never-swapped copy is removed")
        #expect(left.allSatisfy { r.stderr.contains("removed \(w.path($0))") }, "\(r.stderr)")
        #expect(try treeDifferences(src, w.path("node")) == [])
    }
}

/// An outside tester: a `--force` killed after the old tree got its `.pre-restore-` name and
/// before its swap note went left the note; `--rollback` said "no interrupted restore" (exit 2)
/// and left it, and a plain in-place run left it too. Now `--rollback` says the restore had
/// completed and clears it, and a plain run clears it.
@Suite struct StagedSwapNoteLeftoverTests {
    @Test(.timeLimit(.minutes(5)), arguments: [true, false])
    func aNoteLeftAfterACompletedSwapIsCleared(rollback: Bool) throws {
        let (w, node) = try SwapKillFixture.node()
        try InPlaceFixture.killed(w, ["restore", "latest", "--target", node, "--force"], at: "restore-staged-kept")
        let notes = { SwapKillFixture.names(w.root).filter { $0.contains(".chainvault-swap-") } }
        #expect(notes().count == 1, "killed before its note went: \(SwapKillFixture.names(w.root))")
        if rollback {
            let r = try w.run(["restore", "latest", "--target", node, "--rollback"])
            #expect(r.code == 2 && r.stderr.contains("had completed before it was stopped"), "\(r.stderr)")
        } else {
            try w.ok(["restore", "latest", "--target", node])
        }
        #expect(notes() == [], "\(SwapKillFixture.names(w.root))")
        #expect(SwapKillFixture.names(w.root).contains { $0.hasPrefix("node.pre-restore-") }, "the old tree is kept")
        #expect(try treeDifferences(w.path("src"), node) == [])
    }

    /// The other way a note outlives its staging: a failed run removed its copy and was stopped
    /// before the note went (here the copy of a run killed before its exchange is removed by hand).
    /// The note's inode is not the target's: `--rollback` says it was never swapped in.
    @Test(.timeLimit(.minutes(5))) func aNoteWhoseCopyWasNeverSwappedInSaysSo() throws {
        let (w, node) = try SwapKillFixture.node()
        let before = SwapKillFixture.exact(node)
        try InPlaceFixture.killed(w, ["restore", "latest", "--target", node, "--force"], at: "restore-staged-swap")
        for name in SwapKillFixture.names(w.root) where name.contains(".chainvault-staging-") {
            try FileManager.default.removeItem(atPath: w.path(name))
        }
        let r = try w.run(["restore", "latest", "--target", node, "--rollback"])
        #expect(r.code == 2 && r.stderr.contains("was never swapped in"), "\(r.stderr)")
        #expect(SwapKillFixture.swapLeftovers(w.root) == [], "\(SwapKillFixture.names(w.root))")
        #expect(SwapKillFixture.exact(node) == before, "the old tree, untouched")
    }
}
