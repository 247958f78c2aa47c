import Foundation
import Glibc
import Testing
import VaultCore

/// Every name a restore derives from the user's (the sibling staging directory, the previous
/// content kept beside, an interrupted restore's leftover) fits NAME_MAX (255 bytes) whatever the
/// user's name is: a name that leaves no room for the suffix is shortened to a readable prefix and
/// a hash of the whole name (FORMAT.md, "Names derived from the target's").
struct RestoreLongNameTests {
    /// Names of `dir`'s entries that are not `keep`, each checked against NAME_MAX.
    static func siblings(_ dir: String, besides keep: Set<String>) throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { !keep.contains($0) }
        for n in names { #expect(n.utf8.count <= 255, "\(n.utf8.count) bytes: \(n)") }
        return names
    }

    /// A fresh staged restore, a `--force` over it and an in-place delta over it, into a directory
    /// whose name is 250 bytes (the old code failed the first with "File name too long": its
    /// staging name was the target's plus 43 bytes).
    @Test(arguments: [213, 250, 255])
    func aTargetWhoseNameLeavesNoRoomForASuffixRestoresInEveryMode(length: Int) throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        let name = String(repeating: "t", count: length)
        let node = w.path(name)
        let fixed = Set([name] + (try FileManager.default.contentsOfDirectory(atPath: w.root)))

        try w.ok(["restore", "latest", "--target", node])
        #expect(try treeDifferences(src, node) == [])
        #expect(try Self.siblings(w.root, besides: fixed) == [], "no staging is left")

        try w.write("\(name)/extra/stray.bin", [1, 2, 3])
        let forced = try w.ok(["restore", "latest", "--target", node, "--force", "--json"]).json
        #expect(try treeDifferences(src, node) == [])
        let previous = forced["previous"] as? String ?? ""
        #expect(Path.parent(previous) == w.root, "kept beside the target: \(previous)")
        #expect(FileManager.default.fileExists(atPath: previous + "/extra/stray.bin"), "the previous content")
        #expect(Path.base(previous).contains(".pre-restore-"), "\(previous)")
        #expect(try Self.siblings(w.root, besides: fixed) == [Path.base(previous)])

        try InPlaceRestoreTests.rot(node + "/blocks/text.log", at: 10, keepMtime: false)
        let inPlace = try w.ok(["restore", "latest", "--target", node, "--json"]).json
        #expect(inPlace["mode"] as? String == "in-place", "\(inPlace)")
        #expect(try treeDifferences(src, node) == [])
        let rollback = inPlace["previous"] as? String ?? ""
        #expect(Path.parent(rollback) == w.root, "beside the target, as for a short name: \(rollback)")
        #expect(FileManager.default.fileExists(atPath: rollback + "/blocks/text.log"))
        #expect(Set(try Self.siblings(w.root, besides: fixed)) == [Path.base(previous), Path.base(rollback)])
    }

    /// A single file whose own name is 255 bytes, restored with `--path` (staged beside itself),
    /// and a staged restore killed after writing its staging: the next run finds the leftover by
    /// the same shortened name and removes it.
    @Test func aLongFileNameRestoresWithPathAndAKilledRestoresLeftoverIsFound() throws {
        let w = try Workspace()
        let long = String(repeating: "e", count: 255)
        let src = try w.makeSourceTree()
        try w.write("src/blocks/\(long)", Array(repeating: 7, count: 300_000))
        try w.ok(["init"])
        try w.ok(["backup", src])
        let node = w.path("node")
        try w.ok(["restore", "latest", "--target", node])
        try w.write("node/blocks/\(long)", [1, 2])
        let r = try w.ok(["restore", "latest", "--target", node, "--path", "blocks/\(long)", "--force", "--json"]).json
        #expect(
            FileManager.default.contents(atPath: node + "/blocks/" + long)
                == FileManager.default.contents(atPath: src + "/blocks/" + long))
        let kept = r["previous"] as? String ?? ""
        #expect(FileManager.default.contents(atPath: kept) == Data([1, 2]), "the previous file: \(kept)")

        let target = w.path(String(repeating: "k", count: 240))
        let args = ["restore", "latest", "--target", target]
        try InPlaceFixture.killed(w, args, at: "restore-staged-written")
        let left = try FileManager.default.contentsOfDirectory(atPath: w.root).filter { $0.contains("staging") }
        #expect(left.count == 1 && left.allSatisfy { $0.utf8.count <= 255 }, "\(left)")
        let next = try w.ok(args)
        #expect(next.stderr.contains("left by an interrupted restore"), "\(next.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: w.root).filter { $0.contains("staging") } == [])
        #expect(try treeDifferences(src, target) == [])
    }
}
