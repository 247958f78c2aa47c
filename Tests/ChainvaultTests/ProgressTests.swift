import Foundation
import Testing
import VaultCore

/// Progress records (`--json --progress-interval`) of the long commands: counters that only grow
/// within a phase and a final record that equals the real amount (issue 15). Only the content of
/// the records is asserted, never how many were written.
struct ProgressTests {
    struct Record { let phase: String; let files: Int; let bytes: Int; let total: Int?; let done: Bool }

    static func records(_ stderr: String, command: String) -> [Record] {
        stderr.split(separator: "\n").compactMap { line in
            guard let o = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
                o["type"] as? String == "progress", o["command"] as? String == command
            else { return nil }
            return Record(
                phase: o["phase"] as? String ?? "", files: o["files"] as? Int ?? -1, bytes: o["bytes"] as? Int ?? -1,
                total: o["totalBytes"] as? Int, done: o["done"] as? Bool ?? false)
        }
    }

    /// Within a phase the counters never go back; the last record is the final one.
    static func checkMonotonic(_ records: [Record], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(records.last?.done == true, "no final record", sourceLocation: sourceLocation)
        #expect(records.dropLast().allSatisfy { !$0.done }, sourceLocation: sourceLocation)
        for (a, b) in zip(records, records.dropFirst()) where a.phase == b.phase {
            #expect(b.files >= a.files && b.bytes >= a.bytes, "\(a) then \(b)", sourceLocation: sourceLocation)
        }
    }

    @Test func longCommandsReportGrowingCountersAndAFinalTotalEqualToTheRealSize() throws {
        let w = try Workspace()
        try w.ok(["init"])
        let sizes = [2_500_000, 1_200_000, 700_000, 10]
        for (i, n) in sizes.enumerated() { try w.write("src/d\(i % 2)/f\(i)", SecureRandom.bytes(n)) }
        let real = sizes.reduce(0, +)
        let env = ["CHAINVAULT_PROGRESS_INTERVAL": "0.01s"]

        let backup = try w.run(["backup", w.path("src"), "--json"], env: env)
        #expect(backup.code == 0, "\(backup.stderr)")
        let b = Self.records(backup.stderr, command: "backup")
        Self.checkMonotonic(b)
        #expect(b.last?.bytes == real && b.last?.files == sizes.count, "\(b)")
        // A first backup has no parent: its total comes from the size walk beside it.
        #expect(b.last?.total == real, "a first backup's total: \(b)")
        #expect(b.allSatisfy { $0.total == nil || $0.total == real }, "\(b)")

        // A second backup knows its total from the parent.
        let again = try w.run(["backup", w.path("src"), "--json"], env: env)
        let b2 = Self.records(again.stderr, command: "backup")
        Self.checkMonotonic(b2)
        #expect(b2.last?.total == real && b2.last?.bytes == real, "\(b2)")

        let restore = try w.run(
            ["restore", "latest", "--source", w.path("src"), "--target", w.path("out"), "--json"], env: env)
        #expect(restore.code == 0, "\(restore.stderr)")
        let r = Self.records(restore.stderr, command: "restore")
        Self.checkMonotonic(r)
        #expect(r.last?.bytes == real && r.last?.total == real && r.last?.phase == "swapping", "\(r)")

        // In place, with one file damaged: the rebuilding phase counts what is rewritten.
        try w.write("out/d0/f0", SecureRandom.bytes(2_500_000))
        let inPlace = try w.run(
            ["restore", "latest", "--source", w.path("src"), "--target", w.path("out"), "--json"], env: env)
        #expect(inPlace.code == 0, "\(inPlace.stderr)")
        let ip = Self.records(inPlace.stderr, command: "restore")
        Self.checkMonotonic(ip)
        #expect(ip.last?.phase == "swapping" && ip.last?.total == 2_500_000 && ip.last?.bytes == 2_500_000, "\(ip)")

        let verify = try w.run(["verify", "--read-data", "--json"], env: env)
        #expect(verify.code == 0, "\(verify.stderr)")
        let v = Self.records(verify.stderr, command: "verify")
        Self.checkMonotonic(v)
        #expect(v.last?.phase == "reading packs" && v.last?.files ?? 0 > 0 && v.last?.bytes ?? 0 > real, "\(v)")

        try w.write("key2", SecureRandom.bytes(32), mode: 0o600)
        let copyEnv = env.merging(["CHAINVAULT_REPOSITORY": w.path("repo2"), "CHAINVAULT_KEY_FILE": w.path("key2")]) {
            $1
        }
        #expect(try w.run(["init"], env: copyEnv).code == 0)
        let copy = try w.run(["copy", "--from", w.repo, "--from-key-file", w.key, "--json"], env: copyEnv)
        #expect(copy.code == 0, "\(copy.stderr)")
        let c = Self.records(copy.stderr, command: "copy")
        Self.checkMonotonic(c)
        #expect(c.last?.files == 2 * sizes.count && c.last?.bytes == 2 * real && c.last?.total == 2 * real, "\(c)")

        // Plain lines without --json, one per phase change and a final one.
        let plain = try w.run(["verify"], env: env)
        #expect(plain.stderr.contains("progress: verify"), "\(plain.stderr)")
        #expect(plain.stderr.split(separator: "\n").last?.hasSuffix(", done") == true, "\(plain.stderr)")
    }

    /// `forget --prune` reports its phases in order (listing, marking, repacking, deleting) and
    /// ends in "deleting" with every pack it removed (deleted or repacked) counted, bytes = total.
    /// The old prune showed no progress at all.
    @Test func pruneReportsItsPhasesAndCountsThePacksItRemoves() throws {
        let w = try Workspace()
        try w.ok(["init"])
        try w.write("src/a.dat", SecureRandom.bytes(3_000_000))
        try w.write("src/b.dat", SecureRandom.bytes(3_000_000))
        try w.ok(["backup", w.path("src")])
        try w.write("src/a.dat", SecureRandom.bytes(3_000_000))
        try w.ok(["backup", w.path("src")])

        let run = try w.run(
            ["forget", "--keep-last", "1", "--prune", "--json"], env: ["CHAINVAULT_PROGRESS_INTERVAL": "0.01s"])
        #expect(run.code == 0, "\(run.stderr)")
        let prune = run.json["prune"] as? [String: Any] ?? [:]
        let removed = (prune["packsDeleted"] as? Int ?? 0) + (prune["packsRepacked"] as? Int ?? 0)
        #expect(prune["packsRepacked"] as? Int ?? 0 > 0, "the scenario must repack: \(run.stdout)")
        let p = Self.records(run.stderr, command: "prune")
        Self.checkMonotonic(p)
        let order = ["listing", "marking", "repacking", "deleting"]
        let seen = p.map(\.phase).reduce(into: [String]()) { if $0.last != $1 { $0.append($1) } }
        #expect(
            seen.allSatisfy(order.contains)
                && seen == seen.sorted { order.firstIndex(of: $0)! < order.firstIndex(of: $1)! },
            "phases out of order: \(seen)")
        let last = try #require(p.last)
        #expect(
            last.phase == "deleting" && last.files == removed && last.total == last.bytes && last.bytes > 2_000_000,
            "\(last), prune \(prune)")
    }
}
