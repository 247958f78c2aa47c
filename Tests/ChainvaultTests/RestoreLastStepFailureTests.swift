import Foundation
import Glibc
import Testing
import VaultCore

/// A restore that fails at its very last step (issue 11 §3: "a failure anywhere, even 'File name
/// too long' at the last metadata step, cleans up or leaves the staging marked"). The failure is
/// injected where no name can cause it (`CHAINVAULT_TEST_FAIL_AT`, VaultCore's `Failpoint`), and
/// caused for real by names at NAME_MAX (255 bytes) where one can.
struct RestoreLastStepFailureTests {
    static let failLast = ["CHAINVAULT_TEST_FAIL_AT": "restore-last-metadata"]

    /// A restored node with one damaged and one stray file: what each run starts from.
    static func damagedNode(_ w: Workspace, at name: String = "node") throws -> (
        source: String, before: [String: String]?
    ) {
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        try w.ok(["restore", "latest", "--target", w.path(name)])
        try InPlaceRestoreTests.rot(w.path("\(name)/blocks/text.log"), at: 10, keepMtime: false)
        try w.write("\(name)/extra/stray.bin", [1, 2, 3])
        return (src, treeFingerprint(w.path(name)))
    }

    func leftovers(_ w: Workspace) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: w.root).filter { $0.contains("chainvault-staging") }
    }

    /// In place, the last step is the target directory's own metadata, after every entry is in:
    /// the restore undoes its steps (it left its journal and a half-finished tree before) and says
    /// so; the next run restores the snapshot.
    @Test func inPlaceFailingAtTheLastMetadataStepIsUndone() throws {
        let w = try Workspace()
        let (src, before) = try Self.damagedNode(w)
        let node = w.path("node")
        let failed = try w.run(["restore", "latest", "--target", node], env: Self.failLast)
        #expect(failed.code == 16, "\(failed.stderr)")
        #expect(failed.stderr.contains("File name too long"), "\(failed.stderr)")
        #expect(failed.stderr.contains("the restore was undone: \(node) is as it was before"), "\(failed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: node + "/.chainvault-restore"), "no journal is left")
        #expect(treeFingerprint(node) == before, "exactly the tree before the restore")
        try w.ok(["restore", "latest", "--target", node])
        #expect(try treeDifferences(src, node) == [])
        #expect(!FileManager.default.fileExists(atPath: node + "/.chainvault-restore"))
    }

    /// Staged (`--force`, whole tree or `--path FILE`), the last step is the staged root's
    /// metadata, after its unfinished marker is gone: nothing was swapped in, so the staging copy
    /// is removed and the target is as it was.
    @Test func aStagedRestoreFailingAtTheLastMetadataStepRemovesItsStaging() throws {
        let w = try Workspace()
        let (src, before) = try Self.damagedNode(w)
        let node = w.path("node")
        for args in [["--force"], ["--force", "--path", "blocks/text.log"]] {
            let failed = try w.run(["restore", "latest", "--target", node] + args, env: Self.failLast)
            #expect(failed.code == 16 && failed.stderr.contains("File name too long"), "\(args): \(failed.stderr)")
            #expect(treeFingerprint(node) == before, "\(args): the target is unchanged")
            #expect(
                try leftovers(w) == []
                    && (try FileManager.default.contentsOfDirectory(atPath: node + "/blocks"))
                        .filter { $0.contains("chainvault-staging") } == [],
                "\(args): no staging is left")
        }
        try w.ok(["restore", "latest", "--target", node, "--force"])
        #expect(try treeDifferences(src, node) == [])
    }

    /// Real names at NAME_MAX: a target whose name leaves no room for a sibling's suffix, holding
    /// an entry whose name is 255 bytes. Both a staged and an in-place restore work, and what each
    /// keeps goes beside the target under a shortened name that fits (the old code refused the
    /// staged one with "File name too long" and kept the in-place rollback inside the target).
    @Test func namesAtNameMaxRestoreInPlaceAndStaged() throws {
        let w = try Workspace()
        let longTarget = String(repeating: "t", count: 250)
        let longEntry = String(repeating: "e", count: 255)
        let src = try w.makeSourceTree()
        try w.write("src/blocks/\(longEntry)", Array(repeating: 7, count: 300_000))
        try w.ok(["init"])
        try w.ok(["backup", src])
        let node = w.path(longTarget)
        try w.ok(["restore", "latest", "--target", node])
        try InPlaceRestoreTests.rot(node + "/blocks/" + longEntry, at: 5, keepMtime: false)

        let staged = try w.ok(["restore", "latest", "--target", node, "--force", "--json"]).json
        #expect(try treeDifferences(src, node) == [])
        #expect(try leftovers(w) == [], "no staging is left")
        let kept = staged["previous"] as? String ?? ""
        #expect(Path.parent(kept) == w.root && Path.base(kept).utf8.count <= 255, "\(kept)")

        try InPlaceRestoreTests.rot(node + "/blocks/" + longEntry, at: 5, keepMtime: false)
        let r = try w.ok(["restore", "latest", "--target", node, "--json"]).json
        #expect(try treeDifferences(src, node) == [])
        #expect(r["entriesReplaced"] as? Int == 1, "\(r)")
        let previous = r["previous"] as? String ?? ""
        #expect(Path.parent(previous) == w.root && Path.base(previous).utf8.count <= 255, "beside: \(previous)")
        #expect(FileManager.default.fileExists(atPath: previous + "/blocks/" + longEntry))
    }
}
