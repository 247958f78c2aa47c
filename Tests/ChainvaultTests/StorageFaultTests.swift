import Foundation
import Glibc
import Testing
import S3TestSupport
import VaultCore

/// Faults of the object store, through the real binary against moto behind `fault_proxy.py`:
/// chainvault never deletes, chooses or reports on information it cannot prove complete.
struct StorageFaultTests {
    /// An S3 repository reached through a proxy that injects nothing until told, with `count`
    /// small snapshots.
    func s3Repository(snapshots count: Int) throws -> (Workspace, FaultProxy) {
        let moto = try MotoS3.shared()
        let proxy = try FaultProxy(upstreamPort: moto.port, seed: 1, rate: 0)
        let w = try Workspace()
        for (k, v) in moto.environment { w.environment[k] = v }
        w.environment["CHAINVAULT_REPOSITORY"] = moto.newRepository("faults", endpoint: proxy.endpoint)
        w.environment["CHAINVAULT_S3_RETRIES"] = "2"
        try w.ok(["init"])
        for i in 0..<count {
            try w.write("src/blocks/blk\(i).dat", SecureRandom.bytes(200_000))
            try w.write("src/state.json", Array("{\"height\":\(i)}".utf8))
            try w.ok(["backup", w.path("src")])
        }
        return (w, proxy)
    }

    /// With a bound: the old code loops for ever on a repeated token.
    func bounded(_ w: Workspace, _ args: [String]) throws -> Workspace.Run {
        try w.run(["-s", "KILL", "60", Workspace.binary] + args, executable: "/usr/bin/timeout")
    }

    @Test(arguments: ["truncate-list", "repeat-token"])
    func aListingThatCannotBeProvenCompleteStopsEveryCommand(_ mode: String) throws {
        let (w, proxy) = try s3Repository(snapshots: 4)
        defer { proxy.stop() }
        try w.ok(["restore", "latest", "--target", w.path("expected")])
        proxy.command(mode)
        for args in [
            ["snapshots"], ["restore", "latest", "--target", w.path("out")], ["forget", "--keep-last", "50", "--prune"]
        ] {
            let r = try bounded(w, args)
            #expect(r.code == 16, "\(args): exit \(r.code)\n\(r.stdout)\n\(r.stderr)")
            #expect(r.stderr.contains("cannot be proven complete") && r.stderr.contains("HINT"), "\(args): \(r.stderr)")
        }
        proxy.clear()
        let listed = try w.ok(["snapshots", "--json"])
        #expect((try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [Any])?.count == 4)
        let verify = try w.ok(["verify", "--read-data"])
        #expect(verify.stdout.contains("no problems found"), "prune deleted nothing: \(verify.stderr)")
        try w.ok(["restore", "latest", "--target", w.path("out2")])
        #expect(try treeDifferences(w.path("expected"), w.path("out2")).isEmpty)
    }

    /// 503 until the retries are exhausted: unreadable (exit 16, read again), never damage (14)
    /// with a hint to forget snapshots.
    @Test func packsThatCannotBeReadAreUnreadableNotDamaged() throws {
        let (w, proxy) = try s3Repository(snapshots: 1)
        defer { proxy.stop() }
        proxy.fail("/data/")
        let r = try w.run(["verify", "--read-data"])
        #expect(r.code == 16, "exit \(r.code)\n\(r.stderr)")
        #expect(
            r.stderr.contains("could not read") && r.stderr.contains("a failure to read is not damage"), "\(r.stderr)")
        #expect(
            !r.stderr.contains("'chainvault forget") && !r.stderr.contains("forget --prune"),
            "no advice to delete anything: \(r.stderr)")
        proxy.clear()
        try w.ok(["verify", "--read-data"])
    }

    /// One bit flipped in one GET body, for each kind of object: read again, and the command works.
    @Test(arguments: ["/keys/", "/config", "/index/", "/snapshots/", "/data/"])
    func oneFlippedBitIsReadAgainNotCalledDamage(_ pathPart: String) throws {
        let (w, proxy) = try s3Repository(snapshots: 1)
        defer { proxy.stop() }
        proxy.flipOnce(pathPart)
        try w.ok(["restore", "latest", "--target", w.path("out")])
        #expect(try treeDifferences(w.path("src"), w.path("out")).isEmpty)
        proxy.flipOnce(pathPart)
        let verify = try w.ok(["verify", "--read-data"])
        #expect(verify.stdout.contains("no problems found"), "\(verify.stderr)")
    }
}
