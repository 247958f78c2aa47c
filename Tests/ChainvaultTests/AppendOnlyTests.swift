import Foundation
import Glibc
import S3TestSupport
import VaultStorage
import Testing

/// Issue 14, "Backups that a stolen node cannot delete": the node's S3 credential has an IAM
/// policy (moto enforces it: INITIAL_NO_AUTH_ACTION_COUNT) that grants no s3:DeleteObject. Every
/// daily operation still succeeds, nothing reports a deletion that was refused, and a prune with
/// that credential fails clearly while the admin's succeeds.
struct AppendOnlyTests {
    /// moto: the node user's IAM policy denies deletes; RGW: a bucket policy grants the node user
    /// only s3:PutObject, s3:GetObject and s3:ListBucket.
    @Test(arguments: S3StoreKind.allCases)
    func aNodeWhoseCredentialCannotDeleteBacksUpVerifiesAndRestores(_ kind: S3StoreKind) throws {
        let store = try s3Server(kind)
        let w = try Workspace()
        try w.ok(["demo", "--generate", w.path("node"), "--size", "2M"])
        let repo = try store.newRepository("append-only", endpoint: nil)
        let admin = store.environment.merging(["CHAINVAULT_REPOSITORY": repo]) { $1 }
        let node = store.nodeEnvironment.merging(["CHAINVAULT_REPOSITORY": repo]) { $1 }
        #expect(try w.run(["init"], env: admin).code == 0)
        let runs: [[String]] = [
            ["backup", w.path("node"), "--append-only"], ["backup", w.path("node"), "--append-only"],
            ["verify", "--read-data", "--append-only"], ["snapshots", "--append-only"],
            ["restore", "latest", "--target", w.path("out"), "--append-only"],
            // Without the flag each delete is sent and refused (403): never reported as done.
            ["backup", w.path("node")], ["verify", "--read-data"]
        ]
        for args in runs {
            let r = try w.run(args, env: node)
            #expect(r.code == 0, "\(args): \(r.stderr)")
            #expect(!r.stderr.contains("removed"), "\(args) reports no deletion: \(r.stderr)")
        }
        #expect(try treeDifferences(w.path("node"), w.path("out")) == [])
        let locks = try S3Backend.open(repo, environment: admin)
        let leftByNode = try locks.list(.lock).count
        #expect(leftByNode >= 4 && leftByNode <= runs.count, "the refused deletes left the runs' locks: \(leftByNode)")
        // Without --append-only the same credential's deletes are refused by S3 (403), clearly.
        let denied = try w.run(["forget", "--keep-last", "1", "--prune"], env: node)
        #expect(denied.code == 16, "\(denied.stderr)")
        #expect(
            denied.stderr.contains("access denied") && denied.stderr.contains("this key may not delete"),
            "\(denied.stderr)")
        // With it, chainvault refuses before asking.
        let refused = try w.run(["forget", "--keep-last", "1", "--prune", "--append-only"], env: node)
        #expect(refused.code == 2 && refused.stderr.contains("append-only: refusing to delete"), "\(refused.stderr)")
        // The pruning host's credential may delete: taking its exclusive lock it removes the node's
        // locks (their processes are gone), says so, and prunes; nothing is left to accumulate.
        let pruned = try w.run(["forget", "--keep-last", "1", "--prune"], env: admin)
        #expect(pruned.code == 0, "\(pruned.stderr)")
        #expect(pruned.stderr.contains("removed"), "the stale locks it deleted are reported: \(pruned.stderr)")
        let left = try locks.list(.lock)
        #expect(left.isEmpty, "\(left)")
        #expect(try w.run(["verify"], env: node).code == 0)
    }
}

extension DaemonTests {
    /// `"appendOnly": true`: retention and prune are skipped, so a policy that keeps one snapshot
    /// keeps every one, and the repository refuses nothing because nothing is asked.
    @Test func anAppendOnlyDaemonSkipsRetentionAndPrune() throws {
        let w = try Workspace()
        let (port, token, config) = try prepareDaemon(
            w, nodeSize: "2M",
            policy: """
                {"name":"demo","source":"\(w.path("node"))","consistency":{"mode":"live"},"schedule":{"every":"1h"},"retention":{"keepLast":1},"rpo":"2h"}
                """)
        let appendOnly = config.replacingOccurrences(
            of: "\"restoreRoots\"", with: "\"appendOnly\":true,\"pruneEvery\":\"1h\",\"restoreRoots\"")
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
