import Foundation
import Testing
import VaultCore

/// A pack whose header is damaged in storage (every read sees it) while every blob in it is
/// intact: verify said "forget --prune the damaged snapshots" although no file was affected and a
/// restore was byte-identical, advice that would destroy intact data (found by an outside tester).
/// Verify now names the damaged pack files, says no snapshot is affected, and points to
/// `repair packs`, which rewrites their intact blobs into new packs before it drops the old ones.
@Suite struct VerifyDamagedHeaderTests {
    let helpers = RepairIndexTests()

    func packIDs(_ w: Workspace) throws -> [String] {
        try helpers.packFiles(w).map { String($0.split(separator: "/").last!) }.sorted()
    }

    @Test func aDamagedHeaderWithIntactBlobsIsRepairedWithoutForgettingAnything() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        let damaged = try packIDs(w)
        for p in try helpers.packFiles(w) { helpers.damageHeader(p) }

        let verify = try w.run(["verify", "--read-data"])
        #expect(verify.code == 14, "stored damage is damage: \(verify.stderr)")
        #expect(
            !verify.stderr.contains("forget --prune") && !verify.stderr.contains("'chainvault forget"),
            "no snapshot may be forgotten for it: \(verify.stderr)")
        #expect(verify.stderr.contains("no snapshot or file is affected"), "\(verify.stderr)")
        #expect(verify.stderr.contains("chainvault repair packs"), "\(verify.stderr)")
        #expect(verify.stderr.contains("blobs the index lists in it are intact"), "\(verify.stderr)")
        for id in damaged {
            #expect(verify.stderr.contains("pack \(id.prefix(8)) header failed authentication"), "\(verify.stderr)")
        }
        let json = try w.run(["verify", "--read-data", "--json"]).json
        #expect((json["affected"] as? [Any])?.isEmpty == true, "\(json)")
        #expect(Set(json["repairablePacks"] as? [String] ?? []) == Set(damaged), "\(json)")

        let repair = try w.run(["repair", "packs"] + damaged.map { String($0.prefix(8)) } + ["--json"])
        #expect(repair.code == 0, "exit \(repair.code)\n\(repair.stderr)")
        #expect(Set(repair.json["rewritten"] as? [String] ?? []) == Set(damaged), "\(repair.stdout)")
        let now = try packIDs(w)
        #expect(Set(now).isDisjoint(with: damaged), "the damaged pack files are gone once their blobs are rewritten")
        let again = try w.run(["verify", "--read-data"])
        #expect(again.code == 0 && again.stdout.contains("no problems found"), "\(again.stderr)")
        // The new packs' headers are whole: the index can be rebuilt from them alone.
        let rebuilt = try w.ok(["repair", "index", "--json"]).json
        #expect(rebuilt["packsIndexed"] as? Int == now.count, "\(rebuilt)")
        try w.ok(["restore", "latest", "--target", w.path("out")])
        #expect(try treeDifferences(src, w.path("out")) == [])
    }

    /// Verify before delete: a pack one of whose blobs is damaged is not dropped by `repair packs`.
    @Test func repairPacksKeepsAPackWithADamagedBlob() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        let files = try helpers.packFiles(w)
        let path = try #require(files.max { (attributes($0)) < (attributes($1)) })
        var bytes = Array(FileManager.default.contents(atPath: path)!)
        bytes[60] ^= 0x01  // inside the first blob (blobs start at offset 40)
        chmod(path, 0o600)
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let id = String(path.split(separator: "/").last!)
        let repair = try w.run(["repair", "packs", String(id.prefix(8))])
        #expect(repair.code == 14, "exit \(repair.code)\n\(repair.stderr)")
        #expect(repair.stderr.contains("pack \(id.prefix(8))") && repair.stderr.contains("damaged"), "\(repair.stderr)")
        #expect(FileManager.default.fileExists(atPath: path), "a pack with a damaged blob is kept")
    }

    func attributes(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }
}
