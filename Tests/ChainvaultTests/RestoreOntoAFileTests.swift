import Foundation
import Glibc
import Testing

/// A snapshot's tree restored onto a target that is a regular file (`--force`, or `--delta` as
/// the exit-17 hint says): the swap put the tree in place, then keeping the old file failed
/// ("the previous content could not be renamed", exit 16), left it under a staging name, and every
/// later `--force` on that target failed (outside tester). The old file is now kept inside a
/// marked `<target>.pre-restore-<time>/` under its own name, as a single file's old copy is.
struct RestoreOntoAFileTests {
    @Test(arguments: ["--force", "--delta"])
    func aTreeOntoAFileKeepsTheFileMarkedAndLaterRestoresWork(_ mode: String) throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        try w.write("afile", [9, 9])
        let target = w.path("afile")
        let r = try w.run(["restore", "latest", "--target", target, mode, "--json"])
        #expect(r.code == 0, "\(r.stderr)")
        #expect(try treeDifferences(src, target) == [])
        let previous = r.json["previous"] as? String ?? ""
        #expect(previous.hasPrefix(target + ".pre-restore-") && previous.hasSuffix("/afile"), "\(r.json)")
        #expect(FileManager.default.contents(atPath: previous) == Data([9, 9]), "the old file is kept")
        let holder = (previous as NSString).deletingLastPathComponent
        #expect(FileManager.default.fileExists(atPath: holder + "/.chainvault-previous"), "kept marked")
        let names = try FileManager.default.contentsOfDirectory(atPath: w.root)
        #expect(names.filter { $0.contains("chainvault-staging") }.isEmpty, "no staging left: \(names)")
        let again = try w.run(["restore", "latest", "--target", target, "--force"])
        #expect(again.code == 0, "a later restore works: \(again.stderr)")
        #expect(try treeDifferences(src, target) == [])
    }
}
