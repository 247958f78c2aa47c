import Foundation
import Glibc
import Testing

/// The README says an in-place restore leaves chainvault's own kept copies where they are, but
/// below the target's root it moved them into its rollback directory as entries to remove (an
/// outside tester: a `--path blocks/rev00000.dat` restore's kept copy, then a plain restore after
/// damage elsewhere, "2 entries replaced or removed" and the copy inside `node.pre-restore-*/`).
/// At any depth, what backups skip as chainvault's own (kept copies, a killed `--path` swap's
/// staging directory holding the old file) stays, is not counted, and is named.
struct InPlaceOwnEntriesTests {
    private func expectLeftInPlace(_ r: Workspace.Run, _ path: String) {
        #expect(r.code == 0, "\(r.stderr)")
        #expect(r.stdout.contains("1 entries replaced or removed"), "only the damaged file: \(r.stdout)")
        #expect(r.stderr.contains("left \(path)"), "\(r.stderr)")
    }

    @Test func aKeptCopyDeepInTheTreeIsLeftWhereItIs() throws {
        let (w, node) = try SwapKillFixture.node()
        try FileManager.default.removeItem(atPath: node + "/old.txt")
        let single = try w.run(["restore", "latest", "--target", node, "--path", SwapKillFixture.file])
        #expect(single.code == 0, "\(single.stderr)")
        let copies = SwapKillFixture.names(node + "/blocks").filter { $0.hasPrefix("rev00000.dat.pre-restore-") }
        let copy = try #require(copies.first, "\(SwapKillFixture.names(node + "/blocks"))")

        try w.write("node/config/nodekey", Array("damaged".utf8), mode: 0o600)
        let plain = try w.run(["restore", "latest", "--target", node])
        expectLeftInPlace(plain, node + "/blocks/" + copy)
        #expect(
            FileManager.default.contents(atPath: node + "/blocks/" + copy + "/rev00000.dat")
                == Data(SwapKillFixture.oldContent), "the kept copy is where it was")
        let rollback = try #require(
            SwapKillFixture.pathAfter("the previous content is kept at ", in: plain.stdout)?
                .components(separatedBy: ";").first)
        #expect(!FileManager.default.fileExists(atPath: rollback + "/blocks"), "\(SwapKillFixture.names(rollback))")
        #expect(FileManager.default.contents(atPath: node + "/config/nodekey") == Data("key".utf8))
    }

    @Test func aKilledSingleFileSwapsStagingDeepInTheTreeIsLeftWhereItIs() throws {
        let (w, node) = try SwapKillFixture.node()
        try FileManager.default.removeItem(atPath: node + "/old.txt")
        let args = ["restore", "latest", "--target", node, "--force", "--path", SwapKillFixture.file]
        try InPlaceFixture.killed(w, args, at: "restore-previous-entry-renamed")
        let staging = try #require(
            SwapKillFixture.names(node + "/blocks")
                .first { $0.contains(".chainvault-staging-") })

        try w.write("node/config/nodekey", Array("damaged".utf8), mode: 0o600)
        let plain = try w.run(["restore", "latest", "--target", node])
        expectLeftInPlace(plain, node + "/blocks/" + staging)
        #expect(
            FileManager.default.contents(atPath: node + "/blocks/" + staging + "/rev00000.dat")
                == Data(SwapKillFixture.oldContent), "the old file is where the killed run left it")
    }
}
