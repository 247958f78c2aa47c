import Foundation
import Glibc
import Testing

/// An in-place restore killed during its clean-up, after every step was carried out: the tree is
/// the new one. `--rollback` then said "removed …/.chainvault-restore/new … had changed nothing, so
/// … is as it was before" while the tree held the new content (outside tester): the clean-up
/// removed the `done` journal before the work it names, so what was left looked like a build that
/// never started. The journal now goes last: until it is gone a later run knows the restore is
/// complete, and after it only an empty work directory is left.
struct InPlaceCleanupTests {
    @Test func aRestoreKilledInItsCleanUpIsNeverReportedAsUndone() throws {
        let w = try Workspace()
        let (src, node) = try InPlaceFixture.restoredNode(w)
        try InPlaceRestoreTests.rot(node + "/blocks/text.log", at: 10, keepMtime: false)
        try w.write("node/stray.bin", [1, 2, 3])
        try InPlaceFixture.killed(w, ["restore", "latest", "--target", node], at: "restore-in-place-done-removed")
        #expect(
            try treeDifferences(src, node).filter { !$0.contains(".chainvault-restore") } == [],
            "every step was done before the clean-up")
        let rolled = try w.run(["restore", "latest", "--target", node, "--rollback"])
        #expect(
            !rolled.stdout.contains("as it was before") && !rolled.stderr.contains("as it was before"),
            "the new tree is not reported as the old one: \(rolled.stdout) \(rolled.stderr)")
        let again = try w.run(["restore", "latest", "--target", node])
        #expect(again.code == 0, "\(again.stderr)")
        #expect(try treeDifferences(src, node) == [], "the next run leaves exactly the snapshot")
        #expect(!FileManager.default.fileExists(atPath: node + "/.chainvault-restore"))
    }
}
