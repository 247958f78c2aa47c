import Foundation
import Glibc
import Testing

/// Issue 11 §2: delta is the default for a non-empty target, and `--help` says so for a single
/// file too. `restore SNAP --target DIR --path FILE` into an existing file exited 17 without
/// `--delta` (old binary); it is rebuilt beside itself from the chunks that differ, the old file
/// kept as `FILE.pre-restore-<time>`.
struct RestoreSingleFileDefaultTests {
    @Test func aSingleFileIntoAnExistingFileIsADeltaRestoreByDefault() throws {
        let w = try Workspace()
        // Random-looking but fixed bytes: the chunk boundaries (FastCDC's fixed gear table) and so
        // the damaged chunk's size are the same in every run (random data made the bound below
        // depend on where the first cut fell).
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        var bytes = [UInt8](repeating: 0, count: 3_000_000)
        for i in bytes.indices {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17; bytes[i] = UInt8(truncatingIfNeeded: x >> 24)
        }
        try w.write("src/blocks/blk00000.dat", bytes)
        try w.write(
            "src/blocks/text.log", Array(String(repeating: "UpdateTip: new best height=1234\n", count: 2_000).utf8))
        try w.ok(["init"])
        try w.ok(["backup", w.path("src")])
        try w.ok(["restore", "latest", "--target", w.path("node")])
        let src = w.path("src")
        let file = w.path("node/blocks/blk00000.dat")
        try InPlaceRestoreTests.rot(file, at: 10, keepMtime: false)
        let damaged = FileManager.default.contents(atPath: file)
        let args = ["restore", "latest", "--target", w.path("node"), "--path", "blocks/blk00000.dat", "--json"]
        let r = try w.ok(args).json
        let original = FileManager.default.contents(atPath: src + "/blocks/blk00000.dat")
        #expect(FileManager.default.contents(atPath: file) == original)
        #expect(try treeDifferences(src, w.path("node")).filter { !$0.contains("pre-restore") } == [])
        // The 3 MB file is random: only the damaged chunk is fetched, the rest reused from the file.
        #expect((r["bytesFetched"] as? Int ?? .max) <= 1_280_000, "only the damaged chunk: \(r)")
        #expect((r["bytesReused"] as? Int ?? 0) >= 1_500_000, "the matching bytes of the live file: \(r)")
        let previous = r["previous"] as? String ?? ""
        #expect(previous.contains("blk00000.dat.pre-restore-"), "\(r)")
        #expect(FileManager.default.contents(atPath: previous) == damaged, "the old file is kept, not deleted")
        let left = try FileManager.default.contentsOfDirectory(atPath: w.path("node/blocks"))
        #expect(left.filter { $0.contains("chainvault") }.isEmpty, "no staging left: \(left)")
        // A whole snapshot onto a file is still refused: a directory does not replace a file by default.
        try w.write("file-target", [9])
        #expect(try w.run(["restore", "latest", "--target", w.path("file-target")]).code == 17)
    }
}
