import Foundation
import Testing

/// A restore whose final sync fails (EIO from `syncfs`, through an LD_PRELOAD shim) must leave its
/// staging directory marked unfinished, so that the next restore removes it instead of keeping it
/// as `.pre-restore-*`, the name of an operator's previous data (issue 19, "Smaller").
struct RestoreSyncFailureTests {
    static let shim = """
        #include <errno.h>
        int syncfs(int fd) { (void)fd; errno = EIO; return -1; }
        """

    @Test func aFailedSyncLeavesNoStagedTreeLabelledAsThePreviousContent() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        try w.write("target/orig.txt", Array("the node's own data".utf8))
        try w.write("eio-syncfs.c", Array(Self.shim.utf8))
        let shim = w.path("eio-syncfs.so")
        let cc = try w.run(["-shared", "-fPIC", "-o", shim, w.path("eio-syncfs.c")], executable: "/usr/bin/cc")
        try #require(cc.code == 0, "cc: \(cc.stderr)")

        let failed = try w.run(
            ["restore", "latest", "--target", w.path("target"), "--force"], env: ["LD_PRELOAD": shim])
        #expect(failed.code != 0, "the sync failed, so the restore must fail: \(failed.stdout) \(failed.stderr)")
        #expect(failed.stderr.contains("sync"), "\(failed.stderr)")
        #expect(
            FileManager.default.contents(atPath: w.path("target/orig.txt")) == Data("the node's own data".utf8),
            "the live target is untouched")

        try w.ok(["restore", "latest", "--target", w.path("target"), "--force"])
        let siblings = try FileManager.default.contentsOfDirectory(atPath: w.root).filter { $0.hasPrefix("target.") }
        let kept = siblings.filter { $0.hasPrefix("target.pre-restore-") }
        #expect(kept.count == 1, "only the previous content is kept: \(siblings)")
        if let only = kept.first {
            #expect(
                FileManager.default.contents(atPath: w.root + "/" + only + "/orig.txt")
                    == Data("the node's own data".utf8),
                "the kept tree is the node's previous data, not a staged snapshot")
        }
        #expect(!siblings.contains { $0.contains("chainvault-staging") }, "no staging left: \(siblings)")
    }
}
