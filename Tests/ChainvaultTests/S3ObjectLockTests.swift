import Foundation
import S3TestSupport
import Testing

/// Issue 14 and 18: `?object-lock=MODE:DAYS` puts Object Lock retention on every object a backup
/// writes, so that even the bucket's administrator cannot delete a backup early: a DELETE with the
/// versionId of any of them is refused, and the backup still verifies and restores.
struct S3ObjectLockTests {
    @Test(arguments: S3StoreKind.allCases)
    func lockedBackupObjectsCannotBeDeletedEvenByTheAdministrator(_ kind: S3StoreKind) throws {
        let store = try s3Server(kind)
        let bucket = "cv-lock-" + UUID().uuidString.prefix(8).lowercased()
        _ = try s3Admin(store, ["lock-bucket", bucket])
        let w = try Workspace()
        for (k, v) in store.environment { w.environment[k] = v }
        w.environment["CHAINVAULT_REPOSITORY"] = "s3:\(store.endpoint)/\(bucket)/repo?object-lock=compliance:1"
        try w.ok(["demo", "--generate", w.path("node"), "--size", "2M"])
        try w.ok(["init"])
        try w.ok(["backup", w.path("node")])
        let attempt = try s3Admin(store, ["delete-versions", bucket, "repo/"])
        let versions = attempt["versions"] as? Int ?? 0
        #expect(versions >= 5, "config, key, pack, index, snapshot: \(attempt)")
        #expect(attempt["locked"] as? Int == versions, "every object has retention: \(attempt)")
        #expect((attempt["deleted"] as? [Any])?.isEmpty == true, "\(attempt)")
        #expect(attempt["refused"] as? Int == versions, "\(attempt)")
        try w.ok(["verify", "--read-data"])
        try w.ok(["restore", "latest", "--target", w.path("out")])
        #expect(try treeDifferences(w.path("node"), w.path("out")).isEmpty)
        let bad = try w.run(["snapshots", "--repo", "s3:\(store.endpoint)/\(bucket)/repo?object-lock=forever"])
        #expect(bad.code == 2 && bad.stderr.contains("object-lock=MODE:DAYS"), "\(bad.stderr)")
    }
}
