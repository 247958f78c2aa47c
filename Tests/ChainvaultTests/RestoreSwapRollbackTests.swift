import Foundation
import Glibc
import Testing

/// `--rollback` after a killed staged swap (`--force`, with or without `--path`) exited 2, "has
/// no interrupted restore to roll back", although the swap note and the staging leftover were
/// there, and after the exchange the operator had to bring the old tree back by hand (outside
/// tester). Now the note decides: before the exchange the unfinished copy goes and the target is
/// untouched; after it one more exchange puts the old content back and the restored copy goes.
/// Either way the tree is exactly the old one: modes, sizes, mtimes in ns, content.
struct RestoreSwapRollbackTests {
    static let treePoints = ["restore-staged-swap", "restore-staged-swapped", "restore-previous-marked"]
    static let filePoints = treePoints + ["restore-previous-entry-renamed"]

    private func expectRolledBack(_ r: Workspace.Run, swapped: Bool, _ target: String) {
        #expect(r.code == 0, "\(r.stderr)")
        let said =
            swapped
            ? "rolled back the interrupted staged restore of \(target): the previous content is in place"
            : "the copy of an interrupted staged restore that was never swapped in: \(target) is as it was before"
        #expect(r.stdout.contains(said), "\(r.stdout)")
    }

    @Test(arguments: treePoints)
    func rollbackOfAKilledTreeSwapPutsTheOldTreeBackExactly(point: String) throws {
        let (w, node) = try SwapKillFixture.node()
        let before = SwapKillFixture.exact(node)
        try InPlaceFixture.killed(w, ["restore", "latest", "--target", node, "--force"], at: point)
        let rolled = try w.run(["restore", "latest", "--target", node, "--rollback"])
        expectRolledBack(rolled, swapped: point != "restore-staged-swap", node)
        #expect(SwapKillFixture.exact(node) == before, "the old tree, exactly")
        #expect(SwapKillFixture.swapLeftovers(w.root).isEmpty, "\(SwapKillFixture.names(w.root))")
        #expect(
            !SwapKillFixture.names(w.root).contains { $0.hasPrefix("node.pre-restore-") },
            "the new tree is not kept")
        let again = try w.run(["restore", "latest", "--target", node, "--rollback"])
        #expect(again.code == 2 && again.stderr.contains("no interrupted restore"), "\(again.stderr)")
    }

    /// The directory holding the file is not compared for its mtime: the staging directory made
    /// in it changed it, as every `--path` restore does.
    @Test(arguments: filePoints)
    func rollbackOfAKilledSingleFileSwapPutsTheOldFileBackExactly(point: String) throws {
        let (w, node) = try SwapKillFixture.node()
        let before = SwapKillFixture.exact(node, ignoringMtimeOf: ["blocks"])
        let args = ["restore", "latest", "--target", node, "--force", "--path", SwapKillFixture.file]
        try InPlaceFixture.killed(w, args, at: point)
        let rolled = try w.run(args + ["--rollback"])
        expectRolledBack(rolled, swapped: point != "restore-staged-swap", node + "/" + SwapKillFixture.file)
        #expect(SwapKillFixture.exact(node, ignoringMtimeOf: ["blocks"]) == before, "the old tree, exactly")
        #expect(SwapKillFixture.swapLeftovers(node + "/blocks").isEmpty, "\(SwapKillFixture.names(node + "/blocks"))")
    }

    /// A rollback killed right after its own exchange: the next `--rollback` finds the restored
    /// copy under the staging name (the noted inode) and removes it.
    @Test func aRollbackKilledAfterItsExchangeIsCompletedByTheNext() throws {
        let (w, node) = try SwapKillFixture.node()
        let before = SwapKillFixture.exact(node)
        try InPlaceFixture.killed(w, ["restore", "latest", "--target", node, "--force"], at: "restore-previous-marked")
        try InPlaceFixture.killed(
            w, ["restore", "latest", "--target", node, "--rollback"],
            at: "restore-rollback-swapped")
        #expect(SwapKillFixture.exact(node) == before, "the old tree is already in place")
        let rolled = try w.run(["restore", "latest", "--target", node, "--rollback"])
        expectRolledBack(rolled, swapped: false, node)
        #expect(SwapKillFixture.exact(node) == before)
        #expect(SwapKillFixture.swapLeftovers(w.root).isEmpty, "\(SwapKillFixture.names(w.root))")
    }
}
