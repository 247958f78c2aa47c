import Foundation
import Testing
import VaultCore

/// `repair index` deleted every old index file even when it skipped a pack whose header was
/// really damaged: the old entries of that pack's intact blobs were lost, and the next restore
/// failed (exit 22). Verify before you delete: such a pack keeps its old entries.
@Suite struct RepairIndexTests {
    /// Every pack file of a local repository (`data/XX/<id>`).
    func packFiles(_ w: Workspace) throws -> [String] {
        let data = w.repo + "/data"
        return try FileManager.default.contentsOfDirectory(atPath: data).flatMap { dir in
            try FileManager.default.contentsOfDirectory(atPath: data + "/" + dir).map { data + "/" + dir + "/" + $0 }
        }
    }

    /// Flips one bit inside the pack's encrypted header (it sits just before the trailing length).
    func damageHeader(_ path: String) {
        var bytes = Array(FileManager.default.contents(atPath: path)!)
        bytes[bytes.count - 10] ^= 0x01
        chmod(path, 0o600)
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }

    @Test func aPackWithADamagedHeaderKeepsItsOldEntriesAndStillRestores() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        let packs = try packFiles(w)
        for p in packs { damageHeader(p) }
        let repair = try w.ok(["repair", "index", "--json"]).json
        #expect(repair["packsIndexed"] as? Int == 0 && repair["packsCarried"] as? Int == packs.count, "\(repair)")
        let restore = try w.run(["restore", "latest", "--target", w.path("out")])
        #expect(restore.code == 0, "the blobs are intact; only the headers were damaged: \(restore.stderr)")
        #expect(try treeDifferences(src, w.path("out")) == [])
    }

    @Test func anUnreadableOldIndexIsKeptWhileASkippedPackFoundItsEntriesNowhere() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        let indexDir = w.repo + "/index"
        let old = try FileManager.default.contentsOfDirectory(atPath: indexDir)
        for name in old {
            chmod(indexDir + "/" + name, 0o600)
            _ = FileManager.default.createFile(atPath: indexDir + "/" + name, contents: Data([1, 2, 3]))
        }
        damageHeader(try #require(try packFiles(w).first))
        let r = try w.ok(["repair", "index"])
        #expect(r.stdout.contains("kept \(old.count) unreadable index file(s)"), "\(r.stdout)")
        let now = Set(try FileManager.default.contentsOfDirectory(atPath: indexDir))
        #expect(now.isSuperset(of: old), "an old index file that may be the only record of a pack is not deleted")
    }
}
