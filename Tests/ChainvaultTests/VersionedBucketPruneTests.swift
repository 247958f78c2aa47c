import Foundation
import S3TestSupport
import Testing

/// Issue 18: on a versioned bucket a DELETE only adds a delete marker (the data stays and is
/// billed). A prune used to count those as freed space and say nothing else; it now says how many
/// objects are only hidden, and the bucket shows exactly that many delete markers.
struct VersionedBucketPruneTests {
    @Test(arguments: S3StoreKind.allCases)
    func aPruneOnAVersionedBucketReportsWhatItOnlyHid(_ kind: S3StoreKind) throws {
        let store = try s3Server(kind)
        let bucket = "cv-ver-" + UUID().uuidString.prefix(8).lowercased()
        _ = try s3Admin(store, ["versioned-bucket", bucket])
        let w = try Workspace()
        for (k, v) in store.environment { w.environment[k] = v }
        w.environment["CHAINVAULT_REPOSITORY"] = "s3:\(store.endpoint)/\(bucket)/repo"
        try w.ok(["demo", "--generate", w.path("kept"), "--size", "1M", "--seed", "1"])
        try w.ok(["demo", "--generate", w.path("gone"), "--size", "1M", "--seed", "2"])
        try w.ok(["init"])
        try w.ok(["backup", w.path("kept")])
        let gone = try #require(try w.ok(["backup", w.path("gone"), "--json"]).json["snapshot"] as? String)
        let r = try w.run(["forget", gone, "--prune"])
        #expect(r.code == 0, "\(r.stderr)")
        let markers = try s3Admin(store, ["versions", bucket, "repo/"])["deleteMarkers"] as? Int ?? -1
        // The forgotten snapshot, its pack(s) and the superseded index files.
        #expect(markers >= 3, "\(markers)")
        #expect(
            r.stdout.contains("\(markers) deleted object(s) are only hidden behind delete markers"),
            "\(markers): \(r.stdout)")
        try w.ok(["verify", "--read-data"])
    }
}
