import Foundation
import Glibc
import Testing

/// An outside tester killed a `--path FILE --force` restore after its exchange, once the old
/// file in the staging directory had been renamed from `entry` to its own name: the next run
/// said rc 0 and "the previous content is kept at …" naming a copy of the NEW file, left the
/// real old file unreported in `FILE.chainvault-staging-*/`, and a backup of the target stored
/// that staging directory as node data. Killed at each step after the exchange, the next run
/// keeps exactly the old file, marked, and says so; a backup meanwhile never stores the staging
/// directory holding it (it is below the root: `blocks/…`).
struct RestoreSingleFileSwapKillTests {
    static let afterTheExchange = [
        "restore-staged-swapped", "restore-previous-marked",
        "restore-previous-entry-renamed", "restore-previous-kept"
    ]

    @Test(arguments: afterTheExchange)
    func aSingleFileSwapKilledAfterTheExchangeKeepsTheOldFileAndABackupSkipsIt(point: String) throws {
        let (w, node) = try SwapKillFixture.node()
        let file = SwapKillFixture.file
        let args = ["restore", "latest", "--target", node, "--force", "--path", file]
        try InPlaceFixture.killed(w, args, at: point)
        #expect(
            FileManager.default.contents(atPath: node + "/" + file) == Data(SwapKillFixture.newContent),
            "the exchange was done: the new file is live")

        let backup = try w.run(["backup", node, "--json"])
        #expect(backup.code == 0, "\(backup.stderr)")
        #expect(
            backup.stderr.contains(
                "skipped \(node)/\(file)."
                    + (point == "restore-previous-kept"
                        ? "pre-restore-"
                        : "chainvault-staging-")), "\(backup.stderr)")
        let id = try #require(backup.json["snapshot"] as? String)
        let listed = try w.ok(["ls", id]).stdout
        #expect(
            !listed.contains(".chainvault-staging-"),
            "a staging directory holding the old file was stored: \(listed)")

        let again = try w.run(args)
        #expect(again.code == 0, "\(again.stderr)")
        let found = "found the previous content of an interrupted restore and kept it as "
        let kept = try #require(SwapKillFixture.pathAfter(found, in: again.stderr), "\(again.stderr)")
        #expect(kept.hasPrefix(node + "/" + file + ".pre-restore-") && kept.hasSuffix("/rev00000.dat"), "\(kept)")
        #expect(
            FileManager.default.contents(atPath: kept) == Data(SwapKillFixture.oldContent),
            "\(kept) is the old file")
        let holder = (kept as NSString).deletingLastPathComponent
        #expect(
            SwapKillFixture.names(holder) == [".chainvault-previous", "rev00000.dat"],
            "\(SwapKillFixture.names(holder))")
        #expect(FileManager.default.contents(atPath: node + "/" + file) == Data(SwapKillFixture.newContent))
        #expect(
            SwapKillFixture.names(node + "/blocks").filter { $0.contains(".chainvault-staging-") }.isEmpty,
            "\(SwapKillFixture.names(node + "/blocks"))")
        // Whatever this run kept of the live file, the old content is in exactly one kept copy.
        let copies = SwapKillFixture.names(node + "/blocks").filter { $0.hasPrefix("rev00000.dat.pre-restore-") }
        let old = copies.filter {
            FileManager.default.contents(atPath: node + "/blocks/" + $0 + "/rev00000.dat")
                == Data(SwapKillFixture.oldContent)
        }
        #expect(old.count == 1, "\(copies)")
    }
}
