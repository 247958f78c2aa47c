import Foundation
import Glibc
import S3TestSupport
import Testing

/// Issue 14, "Backups that a stolen node cannot delete": the node's S3 credential has an IAM
/// policy (moto enforces it: INITIAL_NO_AUTH_ACTION_COUNT) that grants no s3:DeleteObject. Every
/// daily operation still succeeds, nothing reports a deletion that was refused, and a prune with
/// that credential fails clearly while the admin's succeeds.
struct AppendOnlyTests {
    @Test func aNodeWhoseCredentialCannotDeleteBacksUpVerifiesAndRestores() throws {
        let moto = try MotoS3.shared()
        let w = try Workspace()
        try w.ok(["demo", "--generate", w.path("node"), "--size", "2M"])
        let repo = moto.newRepository("append-only")
        let admin = moto.environment.merging(["CHAINVAULT_REPOSITORY": repo]) { $1 }
        let node = moto.nodeEnvironment.merging(["CHAINVAULT_REPOSITORY": repo]) { $1 }
        #expect(try w.run(["init"], env: admin).code == 0)
        for args in [["backup", w.path("node")], ["backup", w.path("node")], ["verify", "--read-data"],
                     ["snapshots"], ["restore", "latest", "--target", w.path("out")]] {
            let r = try w.run(args + ["--append-only"], env: node)
            #expect(r.code == 0, "\(args): \(r.stderr)")
            #expect(!r.stderr.contains("removed"), "\(args) reports no deletion: \(r.stderr)")
        }
        #expect(try treeDifferences(w.path("node"), w.path("out")) == [])
        // Without --append-only the same credential's deletes are refused by S3 (403), clearly.
        let denied = try w.run(["forget", "--keep-last", "1", "--prune"], env: node)
        #expect(denied.code == 16, "\(denied.stderr)")
        #expect(denied.stderr.contains("access denied") && denied.stderr.contains("this key may not delete"),
                "\(denied.stderr)")
        // With it, chainvault refuses before asking.
        let refused = try w.run(["forget", "--keep-last", "1", "--prune", "--append-only"], env: node)
        #expect(refused.code == 2 && refused.stderr.contains("append-only: refusing to delete"), "\(refused.stderr)")
        // The pruning host's credential may delete: the locks the node could not remove go, and prune runs.
        #expect(try w.run(["unlock", "--remove-all"], env: admin).code == 0)
        let pruned = try w.run(["forget", "--keep-last", "1", "--prune"], env: admin)
        #expect(pruned.code == 0, "\(pruned.stderr)")
        #expect(try w.run(["verify"], env: node).code == 0)
    }
}

extension DaemonTests {
    /// `"appendOnly": true`: retention and prune are skipped, so a policy that keeps one snapshot
    /// keeps every one, and the repository refuses nothing because nothing is asked.
    @Test func anAppendOnlyDaemonSkipsRetentionAndPrune() throws {
        let w = try Workspace()
        let (port, token, config) = try prepareDaemon(w, nodeSize: "2M", policy: """
        {"name":"demo","source":"\(w.path("node"))","consistency":{"mode":"live"},"schedule":{"every":"1h"},"retention":{"keepLast":1},"rpo":"2h"}
        """)
        let appendOnly = config.replacingOccurrences(of: "\"restoreRoots\"", with: "\"appendOnly\":true,\"pruneEvery\":\"1h\",\"restoreRoots\"")
        try w.write("config.json", Array(appendOnly.utf8))
        let p = try w.start(["daemon", "--config", w.path("config.json")])
        defer { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        #expect(waitFor(10) { get(port, "/livez").0 == 200 })
        #expect(waitFor(30) { idle(port) }, "the first scheduled backup finishes")
        #expect(runJob(port, token: token, "/v1/policies/demo/backup"))
        #expect(runJob(port, token: token, "/v1/policies/demo/backup"))
        #expect(snapshotCount(w) == 3, "keepLast 1 is not applied by an append-only node")
    }
}
