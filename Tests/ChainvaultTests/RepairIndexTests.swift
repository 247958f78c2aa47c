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
        let pack = try #require(try packFiles(w).first)
        damageHeader(pack)
        // Data stays unreachable (the pack's entries were only in the unreadable files): that is
        // not a success. Exit 0 was returned here before, with the snapshot still broken.
        let r = try w.run(["repair", "index"])
        #expect(r.code == 14, "exit \(r.code)\n\(r.stderr)")
        #expect(r.stdout.contains("kept \(old.count) unreadable index file(s)"), "\(r.stdout)")
        let name = String(pack.split(separator: "/").last!.prefix(8))
        #expect(r.stderr.contains("still unreachable") && r.stderr.contains("pack \(name)"), "\(r.stderr)")
        #expect(r.stderr.contains("HINT: ") && r.stderr.contains("chainvault verify"), "\(r.stderr)")
        let now = Set(try FileManager.default.contentsOfDirectory(atPath: indexDir))
        #expect(now.isSuperset(of: old), "an old index file that may be the only record of a pack is not deleted")
    }

    /// Exit 0 means every blob the snapshots reference is reachable through the new index.
    @Test func repairIndexSucceedsOnlyWhenEverySnapshotIsReachable() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        let r = try w.ok(["repair", "index", "--json"])
        #expect(r.json["unreachableBlobs"] as? Int == 0, "\(r.stdout)")
        // The only pack holding the snapshot's trees gone: the index is rebuilt, the data is not.
        let packs = try packFiles(w)
        let trees = try #require(packs.min { size($0) < size($1) })
        try FileManager.default.removeItem(atPath: trees)
        let missing = try w.run(["repair", "index", "--json"])
        #expect(missing.code == 14, "exit \(missing.code)\n\(missing.stderr)")
        #expect((missing.json["unreachableBlobs"] as? Int ?? 0) > 0, "\(missing.stdout)")
    }

    func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }
}
