import Foundation
import Testing

/// Issue 13: restore warns before installing a snapshot whose chain check failed, and names the
/// newest snapshot of the same source whose check passed (real mainnet blocks, one flipped bit).
@Suite struct ChainRestoreWarningTests {
    @Test func restoringAFailedSnapshotWarnsAndNamesTheNewestValidOne() throws {
        let ws = try Workspace()
        let dir = try ChainTests().node(ws)
        try ws.ok(["init"])
        let first = try ws.run(["backup", dir, "--chain", "bitcoind", "--chain-check", "required", "--json"])
        #expect(first.code == 0, "\(first.stdout)\(first.stderr)")
        let good = String((first.json["snapshot"] as? String ?? "").prefix(8))
        try ChainTests().flip(ws)
        let second = try ws.run(["backup", dir, "--chain", "bitcoind", "--chain-check", "required", "--json"])
        #expect(second.code == 14, "\(second.stdout)\(second.stderr)")
        let bad = String((second.json["snapshot"] as? String ?? "").prefix(8))
        #expect(good.count == 8 && bad.count == 8 && good != bad)

        let restored = try ws.run(["restore", bad, "--target", ws.path("restored")])
        #expect(restored.code == 0, "\(restored.stdout)\(restored.stderr)")
        #expect(restored.stderr.contains("snapshot \(bad) failed its chain check (bitcoind, "), "\(restored.stderr)")
        #expect(restored.stderr.contains("merkle root mismatch"), "\(restored.stderr)")
        #expect(restored.stderr.contains("whose chain check passed is \(good)"), "\(restored.stderr)")
        // The valid snapshot restores without the warning.
        let clean = try ws.run(["restore", good, "--target", ws.path("clean")])
        #expect(clean.code == 0 && !clean.stderr.contains("chain check"), "\(clean.stderr)")
    }
}
