import Foundation
import Glibc
import Testing
import VaultCore

/// Issue 14's rollback detection: each client remembers the snapshots it saw (its state
/// directory), and `verify` reports a repository that went backwards (exit 23) without taking a
/// legitimate forget by another client for one.
struct RollbackDetectionTests {
    func client(_ w: Workspace, _ name: String) -> [String: String] {
        ["CHAINVAULT_STATE_DIRECTORY": w.path("state-\(name)")]
    }

    /// Snapshot ids, oldest first.
    func snapshots(_ w: Workspace) throws -> [String] {
        let list =
            try JSONSerialization.jsonObject(with: Data(try w.ok(["snapshots", "--json"]).stdout.utf8))
            as? [[String: Any]] ?? []
        return list.sorted { ($0["time"] as? String ?? "") < ($1["time"] as? String ?? "") }.compactMap {
            $0["id"] as? String
        }
    }

    func twoBackups(_ w: Workspace) throws -> String {
        try w.ok(["init"])
        let source = try w.makeSourceTree()
        try w.ok(["backup", source])
        try w.write("src/new-file", SecureRandom.bytes(10_000))
        try w.ok(["backup", source])
        return source
    }

    @Test func theNewestSnapshotDeletedByHandIsARollbackUntilReviewed() throws {
        let w = try Workspace()
        _ = try twoBackups(w)
        let a = client(w, "a")
        #expect(try w.run(["verify"], env: a).code == 0)
        let newest = try #require(try snapshots(w).last)
        try FileManager.default.removeItem(atPath: w.repo + "/snapshots/" + newest)
        let r = try w.run(["verify"], env: a)
        #expect(r.code == 23, "\(r.stderr)")
        #expect(
            r.stderr.contains("rollback: snapshot \(newest.prefix(8))")
                && r.stderr.contains("is gone and no newer snapshot"), "\(r.stderr)")
        #expect(r.stderr.contains("HINT:") && r.stderr.contains("--accept-rollback"))
        #expect(try w.run(["verify"], env: a).code == 23, "still reported: nothing was forgotten by looking")
        // Another client that never saw it has nothing to compare with.
        #expect(try w.run(["verify"], env: client(w, "b")).code == 0)
        let accepted = try w.run(["verify", "--accept-rollback"], env: a)
        #expect(accepted.code == 0 && accepted.stderr.contains("warning (accepted): rollback"), "\(accepted.stderr)")
        #expect(try w.run(["verify"], env: a).code == 0)
    }

    @Test func aForgetByAnotherClientOrByThisOneIsNoRollback() throws {
        let w = try Workspace()
        let source = try twoBackups(w)
        let a = client(w, "a"), b = client(w, "b")
        #expect(try w.run(["verify"], env: a).code == 0)
        // Another host backs up and applies retention: both snapshots a saw are gone, a newer one is there.
        try w.write("src/newer-file", SecureRandom.bytes(10_000))
        #expect(try w.run(["backup", source], env: b).code == 0)
        #expect(try w.run(["forget", "--keep-last", "1"], env: b).code == 0)
        #expect(try snapshots(w).count == 1)
        let r = try w.run(["verify"], env: a)
        #expect(r.code == 0, "\(r.stderr)")
        // This client forgets the newest snapshot itself: it knows why it is gone.
        try w.write("src/newest-file", SecureRandom.bytes(10_000))
        try w.ok(["backup", source])
        #expect(try w.run(["verify"], env: a).code == 0)
        let newest = try #require(try snapshots(w).last)
        #expect(try w.run(["forget", newest], env: a).code == 0)
        let mine = try w.run(["verify"], env: a)
        #expect(mine.code == 0, "\(mine.stderr)")
    }

    @Test func aForgottenSnapshotReplayedIntoTheRepositoryIsReported() throws {
        let w = try Workspace()
        _ = try twoBackups(w)
        let a = client(w, "a")
        #expect(try w.run(["verify"], env: a).code == 0)
        let oldest = try #require(try snapshots(w).first)
        let saved = try Posix.readFile(w.repo + "/snapshots/" + oldest)
        #expect(try w.run(["forget", "--keep-last", "1"], env: client(w, "b")).code == 0)
        #expect(try w.run(["verify"], env: a).code == 0, "retention by another client")
        // The attacker puts the old file back (a renamed copy fails its SHA-256 name, FORMAT.md §1).
        try w.write("repo/snapshots/" + oldest, saved, mode: 0o444)
        let r = try w.run(["verify"], env: a)
        #expect(r.code == 23, "\(r.stderr)")
        #expect(
            r.stderr.contains("snapshot \(oldest.prefix(8))") && r.stderr.contains("was removed and is back"),
            "\(r.stderr)")
    }
}

extension RollbackDetectionTests {
    @Test func theDaemonsVerifyJobReportsASnapshotDeletedByHand() throws {
        let w = try Workspace()
        let access = DaemonAccessTests()
        let (port, _) = try access.prepare(w)
        try w.write("node/later-file", SecureRandom.bytes(10_000))
        try w.ok(["backup", w.path("node"), "--policy", "demo"])
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let at = utc.dateComponents([.hour, .minute], from: Date().addingTimeInterval(-7200))
        try w.write(
            "policies/demo.json",
            Array(
                """
                {"name":"demo","source":"\(w.path("node"))","consistency":{"mode":"two-phase","pre":["true"],"post":["true"]},
                 "schedule":{"daily":"\(String(format: "%02d:%02d", at.hour!, at.minute!))"},"rpo":"2d","retention":{"keepLast":5},
                 "verify":{"every":"1s","readAllWithinDays":1}}
                """.utf8))
        let p = try access.start(w, port)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        let verifies = { access.audit(w).filter { $0.action == "verify" } }
        #expect(
            access.d.waitFor(60) { verifies().contains { $0.result == "succeeded" } },
            "a clean verify remembers the snapshots")
        let newest = try #require(try snapshots(w).last)
        try FileManager.default.removeItem(atPath: w.repo + "/snapshots/" + newest)
        #expect(
            access.d.waitFor(60) {
                verifies().contains {
                    $0.result == "failed" && $0.details["error"]?.contains("went backwards") == true
                        && $0.details["error"]?.contains(String(newest.prefix(8))) == true
                }
            }, "\(verifies().map { "\($0.result) \($0.details["error"] ?? "")" })")
        access.stop(p)
    }
}
