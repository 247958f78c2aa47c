import Foundation
import Glibc
import Testing
import VaultCore

/// Issue 11 (outside tester): a second restore into a target while a first is still running took
/// the first's live work for an interrupted restore (completed or undid its journal, removed its
/// build). Every restore holds an exclusive lock on its target for its whole run; a second one is
/// refused at once with exit 12 and changes nothing, and the first completes as if alone.
struct RestoreTargetLockTests {
    /// What a second restore could disturb: the whole target (its work directory included) and
    /// everything beside it (staging, rollback directories).
    static func state(_ w: Workspace) -> [String: String]? {
        var all = treeFingerprint(w.path("node")) ?? [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: w.root)) ?? [] where name.hasPrefix("node.") {
            for (k, v) in treeFingerprint(w.path(name)) ?? [:] { all[name + "/" + k] = v }
            all[name] = "beside"
        }
        return all
    }

    /// The first restore stops after its journal is durable (in place) or after its staged copy
    /// is written (`--force`); restores into the same target, of every kind, are then refused.
    @Test(
        .timeLimit(.minutes(2)),
        arguments: [
            ("restore-in-place-journal", [String]()),
            ("restore-staged-written", ["--force"])
        ])
    func aSecondRestoreIntoTheSameTargetIsRefusedAndTheFirstCompletes(point: String, mode: [String]) throws {
        let w = try Workspace()
        let (src, _) = try InPlaceInterruptionTests.damagedNode(w)
        let args = ["restore", "latest", "--target", w.path("node")]
        let first = try InPlaceRestoreTests.startStopping(w, args + mode, at: point)
        do { try InPlaceRestoreTests.waitStopped(first) } catch {
            first.waitUntilExit()
            Issue.record("the first restore ended (exit \(first.terminationStatus)) before \(point)")
            return
        }
        let before = Self.state(w)
        for second in [args, args + ["--rollback"], args + ["--force"], args + ["--verify-all"]] {
            let r = try w.run(second)
            #expect(r.code == 12, "\(second.dropFirst(4).joined(separator: " ")): exit \(r.code)\n\(r.stderr)")
            #expect(r.stderr.contains("another restore into \(w.path("node")) is running"), "\(r.stderr)")
            #expect(r.stderr.contains("pid \(first.processIdentifier)"), "\(r.stderr)")
            #expect(Self.state(w) == before, "the refused restore changed nothing")
        }
        kill(first.processIdentifier, SIGCONT)
        first.waitUntilExit()
        #expect(first.terminationStatus == 0, "the first restore completes")
        #expect(try treeDifferences(src, w.path("node")) == [])
        #expect(!FileManager.default.fileExists(atPath: w.path("node/.chainvault-restore")))
        // The lock ends with the run: the next restore is not refused.
        try w.ok(args)
    }
}
