import Foundation
import Testing
import S3TestSupport
import VaultCore

/// The second read of an object whose bytes failed their check, through the real binary against
/// moto behind `fault_proxy.py`: it goes over a new connection (a damaging connection or middlebox
/// cannot hand the same bad bytes back), and pack headers (repair, recovery) are read again too.
struct StorageRereadTests {
    let faults = StorageFaultTests()

    /// GETs of packs after the first `skip` GETs the proxy answered.
    func packGets(_ proxy: FaultProxy, after skip: Int = 0) -> [FaultProxy.Get] {
        proxy.gets().dropFirst(skip).filter { $0.path.contains("/data/") }
    }

    /// Every damaged GET was followed by a GET of the same bytes on another connection that
    /// arrived intact.
    func expectEachDamagedReadRereadElsewhere(
        _ gets: [FaultProxy.Get], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let damaged = gets.filter(\.flipped)
        #expect(!damaged.isEmpty, "the proxy damaged no read", sourceLocation: sourceLocation)
        for bad in damaged {
            let again = gets.contains {
                $0.path == bad.path && $0.range == bad.range && $0.connection != bad.connection && !$0.flipped
            }
            #expect(
                again, "\(bad.path) \(bad.range ?? "whole") was not read again on another connection",
                sourceLocation: sourceLocation)
        }
    }

    @Test func aReadDamagedByItsConnectionIsReadAgainOnANewOne() throws {
        let (w, proxy) = try faults.s3Repository(snapshots: 1)
        defer { proxy.stop() }
        proxy.flipOnConnection("/data/")
        let restore = try w.run(["restore", "latest", "--target", w.path("out")])
        #expect(restore.code == 0, "exit \(restore.code)\n\(restore.stderr)")
        #expect(try treeDifferences(w.path("src"), w.path("out")).isEmpty)
        expectEachDamagedReadRereadElsewhere(packGets(proxy))

        // verify --read-data reads whole packs: the same on its path.
        let before = proxy.gets().count
        proxy.clear()
        proxy.flipOnConnection("/data/")
        let verify = try w.run(["verify", "--read-data"])
        #expect(
            verify.code == 0 && verify.stdout.contains("no problems found"), "exit \(verify.code)\n\(verify.stderr)")
        expectEachDamagedReadRereadElsewhere(packGets(proxy, after: before))
    }

    /// One flipped bit in one GET of a pack's header: `repair index` indexes every pack.
    @Test func repairReadsADamagedPackHeaderAgain() throws {
        let (w, proxy) = try faults.s3Repository(snapshots: 1)
        defer { proxy.stop() }
        proxy.flipOnce("/data/")
        let repair = try w.run(["repair", "index", "--json"])
        #expect(repair.code == 0, "exit \(repair.code)\n\(repair.stderr)")
        #expect(proxy.counts()["flipped"] == 1)
        let packs = repair.json["packs"] as? Int ?? -1
        #expect(packs >= 2 && repair.json["packsIndexed"] as? Int == packs, "\(repair.stdout)\n\(repair.stderr)")
        #expect(!repair.stderr.contains("skipped"), "\(repair.stderr)")
        let verify = try w.ok(["verify", "--read-data"])
        #expect(verify.stdout.contains("no problems found"), "\(verify.stderr)")
        try w.ok(["restore", "latest", "--target", w.path("out")])
        #expect(try treeDifferences(w.path("src"), w.path("out")).isEmpty)
    }

    /// Packs left out of every index (here: the index files removed by the bucket's administrator)
    /// are recovered by the next backup even when one GET of a header arrives damaged.
    @Test func recoveryReadsADamagedPackHeaderAgain() throws {
        let (w, proxy) = try faults.s3Repository(snapshots: 1)
        defer { proxy.stop() }
        let moto = try MotoS3.shared()
        let location = w.environment["CHAINVAULT_REPOSITORY"] ?? ""
        let prefix = String(location.split(separator: "/").last ?? "")
        let packs = try w.ok(["repair", "index", "--json"]).json["packs"] as? Int ?? -1
        #expect(try s3Admin(moto, ["delete-prefix", moto.bucket, prefix + "/index/"])["deleted"] as? Int == 1)
        proxy.flipOnce("/data/")
        let backup = try w.run(["backup", w.path("src"), "--json"])
        #expect(backup.code == 0, "exit \(backup.code)\n\(backup.stderr)")
        #expect(proxy.counts()["flipped"] == 1)
        #expect(packs >= 2 && backup.json["recoveredPacks"] as? Int == packs, "\(packs) packs: \(backup.stdout)")
        let verify = try w.ok(["verify", "--read-data"])
        #expect(verify.stdout.contains("no problems found"), "\(verify.stderr)")
    }

    /// Damage every read sees (as stored damage is) is still damage: read twice, then reported.
    @Test func aPackHeaderDamagedOnEveryReadIsStillReported() throws {
        let (w, proxy) = try faults.s3Repository(snapshots: 1)
        defer { proxy.stop() }
        try w.ok(["verify", "--read-data"])
        let path = try #require(packGets(proxy).first?.path)
        let name = String(path.split(separator: "/").last ?? "")
        let before = proxy.gets().count
        proxy.flipAlways(path)
        // Every GET of that pack is damaged, the tree in it too: the snapshot is not whole as this
        // client can read it, so repair says so (exit 14) instead of reporting success.
        let repair = try w.run(["repair", "index", "--json"])
        #expect(
            repair.code == 14 && repair.stderr.contains("1 tree(s) could not be read"),
            "exit \(repair.code)\n\(repair.stderr)")
        let packs = repair.json["packs"] as? Int ?? -1
        #expect(repair.json["packsIndexed"] as? Int == packs - 1, "\(repair.stdout)")
        #expect(repair.stderr.contains("pack \(name.prefix(8)) skipped"), "\(repair.stderr)")
        // Each range of the header was fetched twice, both times damaged, before the verdict.
        let reads = packGets(proxy, after: before).filter { $0.path == path }
        let ranges = Set(reads.map { $0.range ?? "" })
        #expect(!ranges.isEmpty)
        for range in ranges {
            #expect(reads.filter { $0.range ?? "" == range && $0.flipped }.count >= 2, "\(range): \(reads)")
        }
    }
}

extension StorageRereadTests {
    /// `key list` read each key file once: a connection that damaged it showed an intact key as
    /// "damaged" (found checking issue 19's "re-fetch once before failing, everywhere").
    @Test func keyListReadsADamagedKeyFileAgainBeforeCallingItDamaged() throws {
        let (w, proxy) = try faults.s3Repository(snapshots: 1)
        defer { proxy.stop() }
        proxy.flipOnce("/keys/", skipping: 1)  // the open reads the one key file first
        let list = try w.ok(["key", "list"])
        #expect(!list.stdout.contains("damaged"), "\(list.stdout)")
        #expect(proxy.gets().contains { $0.path.contains("/keys/") && $0.flipped }, "the proxy damaged no key read")
    }
}
