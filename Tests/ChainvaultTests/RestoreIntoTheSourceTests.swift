import Foundation
import Glibc
import Testing

/// Issue 11, an outside tester's D1: `restore --target <the source> --path blocks/blk00000.dat`
/// was refused ("inside the source") because the rule checked the target joined with the path.
/// One file put back into the live source is what an operator does; the rule is about the target
/// directory, and the other refusals still hold.
struct RestoreIntoTheSourceTests {
    @Test func oneFileRestoresIntoTheLiveSourceButATargetInsideItIsStillRefused() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        let original = FileManager.default.contents(atPath: src + "/blocks/blk00000.dat")
        try w.ok(["init"])
        try w.ok(["backup", src])
        try InPlaceRestoreTests.rot(src + "/blocks/blk00000.dat", at: 100, keepMtime: false)
        for mode in ["--delta", "--force"] {
            let r = try w.run(["restore", "latest", "--target", src, "--path", "blocks/blk00000.dat", mode])
            #expect(r.code == 0, "\(mode): \(r.stderr)")
            #expect(FileManager.default.contents(atPath: src + "/blocks/blk00000.dat") == original, "\(mode)")
        }
        // (Not "/" with --path here: the old code wrote /blocks/blk00000.dat; `/` alone is refused
        // in targetsThatWouldOverwriteWhatChainvaultNeedsAreRefused.)
        for (target, says) in [
            (src + "/blocks", "the source of the snapshot"), (w.repo, "which chainvault itself uses")
        ] {
            let r = try w.run(["restore", "latest", "--target", target, "--path", "blocks/blk00000.dat", "--delta"])
            #expect(r.code == 20 && r.stderr.contains(says) && r.stderr.contains("HINT:"), "\(target): \(r.stderr)")
        }
        // The repository inside the target, reached through --path: still refused.
        let inside = try w.run(["restore", "latest", "--target", w.root, "--path", "blocks", "--delta"])
        #expect(inside.code == 20 && inside.stderr.contains("which chainvault itself uses"), "\(inside.stderr)")
    }

    /// An outside tester's finding: the README says a target overlapping the state directory is
    /// refused, but only a unit's `$STATE_DIRECTORY` was: with `CHAINVAULT_STATE_DIRECTORY` (or the
    /// default one) a restore went into it and moved the rollback-detection record aside.
    @Test func theStateDirectoryIsNeverARestoreTarget() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        w.environment["CHAINVAULT_STATE_DIRECTORY"] = w.path("st")
        try w.ok(["init"])
        try w.ok(["backup", src])
        try w.ok(["verify"])  // writes the state directory's rollback record
        let before = PruneDryRunTests.listing(w.path("st"))
        #expect(!before.isEmpty, "verify wrote nothing into the state directory")
        for target in [w.path("st/x"), w.path("st")] {
            let r = try w.run(["restore", "latest", "--target", target])
            #expect(
                r.code == 20 && r.stderr.contains("which chainvault itself uses"), "\(target): \(r.code) \(r.stderr)")
        }
        #expect(PruneDryRunTests.listing(w.path("st")) == before, "the state directory changed")
        #expect(access(w.path("st/x"), F_OK) != 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: w.root).filter { $0.hasPrefix("st.") } == [])
    }
}
