import Foundation
import Testing
import VaultCore

/// Two backups that run at once each load the index before the other has stored anything, so the
/// same new data (nodes of one chain backing up the same new blocks: issue 18) is stored twice.
/// Prune keeps one copy: the other copy's packs go, and everything still restores.
struct PruneDuplicateTests {
    /// Bytes of the packs (`data/`), without locks or index files.
    static func packBytes(_ w: Workspace) -> Int {
        PruneDryRunTests.listing(w.repo).filter { $0.key.hasPrefix("data/") }.values.reduce(0, +)
    }

    @Test func aPruneKeepsOneCopyOfDataThatTwoConcurrentBackupsStoredTwice() throws {
        let w = try Workspace()
        try w.ok(["init"])
        let shared = SecureRandom.bytes(3_000_000)  // incompressible: stored bytes ≈ its size
        for node in ["a", "b"] {
            try w.write("\(node)/blocks/blk00000.dat", shared)
            try w.write("\(node)/own.dat", SecureRandom.bytes(100_000))
        }
        // a loads the index and stops before it stores anything; b backs up the same data meanwhile,
        // then a goes on knowing only the index it loaded: it stores the shared data a second time.
        // (Stopping a after its first stored pack left it to timing whether that pack held shared
        // data: b indexes a's stored packs when it starts, and stores only what they lack.)
        let paused = try PausedBackup(w, source: w.path("a"), at: "backup-index-loaded")
        defer { paused.kill() }
        try paused.waitUntilStopped()
        try w.ok(["backup", w.path("b")])
        let resumed = try paused.resumeAndWait()
        #expect(resumed.code == 0, "\(resumed.stderr)")
        let twice = Self.packBytes(w)
        let single = shared.count + 2 * 100_000
        #expect(twice >= single + shared.count, "the shared data is stored twice: \(twice) bytes of packs")

        let dry = try w.ok(["forget", "--prune", "--dry-run", "--json"])
        let real = try w.ok(["forget", "--prune", "--json"])
        let dryPrune = dry.json["prune"] as? [String: Any] ?? [:],
            realPrune = real.json["prune"] as? [String: Any] ?? [:]
        #expect(dryPrune["bytesFreed"] as? Int == realPrune["bytesFreed"] as? Int, "\(dry.stdout) \(real.stdout)")
        let once = Self.packBytes(w)
        // One copy of the shared data and both nodes' own files, plus pack overhead.
        #expect(once < single + single / 20, "after prune \(once) bytes of packs (before \(twice))")
        // The second copy goes (its stored bytes: at least the data, which does not compress), and
        // nothing a snapshot uses: the nodes' own files are 100,000 bytes each.
        let freed = realPrune["bytesFreed"] as? Int ?? 0
        #expect(freed >= shared.count && freed < shared.count + 100_000, "\(real.stdout)")

        for node in ["a", "b"] {
            try w.ok(["restore", "latest", "--source", w.path(node), "--target", w.path("restored-\(node)")])
            #expect(try treeDifferences(w.path(node), w.path("restored-\(node)")) == [])
        }
        let verify = try w.ok(["verify", "--read-data"])
        #expect(verify.stdout.contains("no problems found"), "\(verify.stdout)")
        // A second prune finds nothing more to do.
        let again = try w.ok(["forget", "--prune", "--json"])
        #expect((again.json["prune"] as? [String: Any])?["bytesFreed"] as? Int == 0, "\(again.stdout)")
    }
}
