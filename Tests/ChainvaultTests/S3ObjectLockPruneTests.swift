import Foundation
import S3TestSupport
import Testing

/// Issues 14 and 18: prune lengthens the Object Lock retention of what kept snapshots need, so a
/// locked backup kept by retention never becomes deletable early, and lets the rest expire. The
/// renewal's clock is moved 27.8 hours on (CHAINVAULT_TEST_CLOCK_FILE) instead of waiting: with a
/// 2-day period every object written before it then has less than half the period left.
struct S3ObjectLockPruneTests {
    @Test(arguments: S3StoreKind.allCases)
    func pruneExtendsTheRetentionOfKeptObjectsAndLetsForgottenOnesExpire(_ kind: S3StoreKind) throws {
        let store = try s3Server(kind)
        let (w, bucket) = try lockedRepository(store)
        try w.ok(["demo", "--generate", w.path("kept"), "--size", "1M", "--seed", "1"])
        try w.ok(["demo", "--generate", w.path("gone"), "--size", "1M", "--seed", "2"])
        try w.ok(["init"])
        try w.ok(["backup", w.path("kept")])
        let gone = try #require(try w.ok(["backup", w.path("gone"), "--json"]).json["snapshot"] as? String)
        let before = try s3Admin(store, ["versions", bucket, "repo/"])["versions"] as? [[String: Any]] ?? []
        let original = Dictionary(before.map { ($0["key"] as? String ?? "", $0["until"] as? Double ?? 0) }) { a, _ in a
        }
        let offset = 100_000.0
        try w.write("clock", Array("\(Int(offset))\n".utf8))
        let start = Date().timeIntervalSince1970
        let r = try w.run(["forget", gone, "--prune"], env: ["CHAINVAULT_TEST_CLOCK_FILE": w.path("clock")])
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("extended the Object Lock retention of"), "\(r.stdout)")
        let after = try s3Admin(store, ["versions", bucket, "repo/"])["versions"] as? [[String: Any]] ?? []
        var extended = 0, expiring = 0
        for v in after {
            let key = v["key"] as? String ?? "", until = v["until"] as? Double ?? 0
            guard let was = original[key] else { continue }  // written by the prune itself
            if v["latest"] as? Bool == true {
                // Kept: lengthened to the moved clock + 2 days (whole seconds, the store's clock).
                #expect(until >= start + offset + 2 * 86_400 - 120, "\(key) kept but not extended: \(until - was)")
                extended += 1
            } else {
                #expect(until == was, "\(key) is no longer referenced and must expire as set: \(until - was)")
                expiring += 1
            }
        }
        // config, key, the kept snapshot and its pack(s); the forgotten snapshot, its pack, old indexes.
        #expect(extended >= 4 && expiring >= 3, "extended \(extended), expiring \(expiring)")
        try w.ok(["verify", "--read-data"])
    }

    /// The index files current after the prune need renewing too (issue 14): a lost index is rebuilt
    /// from pack headers, yet an admin credential must not delete it early. On the previous build the
    /// prune's new index kept only what its PUT set (this host's clock + period), less than half the
    /// period on the renewal's moved clock: a PUT clock behind the store's, or an index file a prune
    /// keeps, is not renewed.
    @Test(arguments: S3StoreKind.allCases)
    func pruneExtendsTheRetentionOfTheIndexFilesStillCurrent(_ kind: S3StoreKind) throws {
        let store = try s3Server(kind)
        let (w, bucket) = try lockedRepository(store)
        try w.ok(["demo", "--generate", w.path("src"), "--size", "1M", "--seed", "3"])
        try w.ok(["init"])
        try w.ok(["backup", w.path("src")])
        try w.write("src/more.dat", Array(repeating: 7, count: 100_000))
        try w.ok(["backup", w.path("src")])
        let before = try s3Admin(store, ["versions", bucket, "repo/"])["versions"] as? [[String: Any]] ?? []
        let oldIndex = Set(before.compactMap { $0["key"] as? String }.filter { $0.hasPrefix("index/") })
        let offset = 100_000.0
        try w.write("clock", Array("\(Int(offset))\n".utf8))
        let start = Date().timeIntervalSince1970
        let r = try w.run(
            ["forget", "--keep-last", "1", "--prune"],
            env: ["CHAINVAULT_TEST_CLOCK_FILE": w.path("clock")])
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        let after = try s3Admin(store, ["versions", bucket, "repo/"])["versions"] as? [[String: Any]] ?? []
        let current = after.filter { ($0["key"] as? String ?? "").hasPrefix("index/") && $0["latest"] as? Bool == true }
        #expect(!current.isEmpty && oldIndex.count >= 2, "\(current.count) current, \(oldIndex.count) old index")
        for v in current {
            let until = v["until"] as? Double ?? 0
            #expect(until >= start + offset + 2 * 86_400 - 120, "\(v["key"] ?? "") is current but was not extended")
        }
        try w.ok(["restore", "latest", "--target", w.path("out")])
        #expect(try treeDifferences(w.path("src"), w.path("out")) == [])
    }

    /// A workspace on a new Object Lock bucket (GOVERNANCE, 2 days) of `store`, and the bucket's name.
    private func lockedRepository(_ store: any S3Server) throws -> (Workspace, String) {
        let bucket = "cv-renew-" + UUID().uuidString.prefix(8).lowercased()
        _ = try s3Admin(store, ["lock-bucket", bucket])
        let w = try Workspace()
        for (k, v) in store.environment { w.environment[k] = v }
        w.environment["CHAINVAULT_REPOSITORY"] = "s3:\(store.endpoint)/\(bucket)/repo?object-lock=governance:2"
        return (w, bucket)
    }
}
