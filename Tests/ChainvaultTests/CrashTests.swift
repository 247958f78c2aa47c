import Foundation
import Glibc
import Testing

/// SIGKILL at arbitrary moments: the repository must stay clean and the next run must succeed.
struct CrashTests {
    func packCount(_ w: Workspace) throws -> Int {
        let data = w.repo + "/data"
        return try FileManager.default.contentsOfDirectory(atPath: data).filter { !$0.hasPrefix(".") }
            .reduce(0) { $0 + (try FileManager.default.contentsOfDirectory(atPath: data + "/" + $1).count) }
    }

    func start(_ w: Workspace, _ args: [String]) throws -> Process { try w.start(args) }

    @Test(arguments: [0.05, 0.3, 0.8, 1.5])
    func aBackupKilledAtAnyMomentLeavesACleanRepositoryAndIsResumed(_ delay: Double) throws {
        let w = try Workspace()
        try w.ok(["demo", "--generate", w.path("node"), "--size", "40M"])
        try w.ok(["init"])
        let p = try start(w, ["backup", w.path("node")])
        usleep(useconds_t(delay * 1_000_000))
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let verify = try w.run(["verify", "--read-data"])
        #expect(verify.code == 0, "after a kill at \(delay)s: \(verify.stderr)")
        let packsBefore = try packCount(w)
        let again = try w.ok(["backup", w.path("node"), "--json"]).json
        let stats = again["stats"] as? [String: Any] ?? [:]
        if packsBefore > 0 {
            // Whatever reached storage before the kill is reused, indexed or not.
            #expect(
                (stats["bytesNew"] as? Int ?? .max) < (stats["bytesTotal"] as? Int ?? 0),
                "uploaded data is reused after a kill at \(delay)s")
        }
        try w.ok(["verify", "--read-data"])
        try w.ok(["restore", "latest", "--target", w.path("out")])
        #expect(try treeDifferences(w.path("node"), w.path("out")) == [])
    }

    @Test(arguments: [0.0, 0.1, 0.25, 0.5])
    func aPruneKilledAtAnyMomentDeletesNothingStillReferenced(_ delay: Double) throws {
        let w = try Workspace()
        try w.ok(["demo", "--generate", w.path("node"), "--size", "24M"])
        try w.ok(["init"])
        try w.ok(["backup", w.path("node")])
        try w.ok(["demo", "--advance", w.path("node"), "--size", "24M"])
        try w.ok(["backup", w.path("node")])
        let p = try start(w, ["forget", "--keep-last", "1", "--prune"])
        usleep(useconds_t(delay * 1_000_000))
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let verify = try w.run(["verify", "--read-data"])
        #expect(verify.code == 0, "after a prune killed at \(delay)s: \(verify.stderr)")
        try w.ok(["restore", "latest", "--target", w.path("out")])
        #expect(try treeDifferences(w.path("node"), w.path("out")) == [])
        try w.ok(["forget", "--keep-last", "1", "--prune"])
        try w.ok(["verify", "--read-data"])
    }

    @Test func aPreviousTreeLeftUnderAStagingNameIsKeptNeverDeleted() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        // What a crash between the swap and its rename leaves: the old tree, no incomplete marker.
        try w.write("target.chainvault-staging-20260101T000000Z-abcdef/precious", [42])
        try w.write("target.chainvault-staging-20260101T000001Z-abcdef/.chainvault-incomplete", [])
        let r = try w.ok(["restore", "latest", "--target", w.path("target")])
        #expect(r.stderr.contains("kept it as"))
        #expect(
            FileManager.default.contents(atPath: w.path("target.pre-restore-20260101T000000Z/precious")) == Data([42]))
        #expect(!FileManager.default.fileExists(atPath: w.path("target.chainvault-staging-20260101T000001Z-abcdef")))
        // Two restores in the same second never collide on the kept name.
        try w.ok(["restore", "latest", "--target", w.path("target"), "--force"])
        try w.ok(["restore", "latest", "--target", w.path("target"), "--force"])
        #expect(try treeDifferences(src, w.path("target")) == [])
    }

    @Test(arguments: [0.02, 0.1, 0.3])
    func aKilledRestoreLeavesTheOldTreeAndItsStagingIsCleanedNextTime(_ delay: Double) throws {
        let w = try Workspace()
        try w.ok(["demo", "--generate", w.path("node"), "--size", "40M"])
        try w.ok(["init"])
        try w.ok(["backup", w.path("node")])
        try w.write("target/old", [1])
        let p = try start(w, ["restore", "latest", "--target", w.path("target"), "--force"])
        usleep(useconds_t(delay * 1_000_000))
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let names = try FileManager.default.contentsOfDirectory(atPath: w.path("target"))
        let restoredNames = Set(try FileManager.default.contentsOfDirectory(atPath: w.path("node")))
        #expect(
            names == ["old"] || Set(names) == restoredNames,
            "the target is the old tree or the new one, never a mix: \(names)")
        try w.ok(["restore", "latest", "--target", w.path("target"), "--force"])
        #expect(try treeDifferences(w.path("node"), w.path("target")) == [])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: w.root).filter { $0.contains("staging") }
        #expect(leftovers.isEmpty)
        let kept = try FileManager.default.contentsOfDirectory(atPath: w.root).filter { $0.contains("pre-restore") }
        #expect(
            kept.contains { FileManager.default.fileExists(atPath: w.path($0 + "/old")) },
            "the old tree survives: \(kept)")
    }
}
