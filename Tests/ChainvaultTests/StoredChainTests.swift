import Foundation
import Testing
import VaultCore

/// `verify --chain`: the chain inside stored snapshots, streamed from the repository without a
/// restore. A flipped bit inside a block, backed up without a chain check, passes byte-level
/// verification (the repository holds exactly what was read) and is named by the chain check.
@Suite struct StoredChainTests {
    @Test func verifyChainNamesAFlippedBlockInAStoredSnapshot() throws {
        let ws = try Workspace()
        let chain = ChainTests()
        let dir = try chain.node(ws)
        try ws.ok(["init"])
        let good = try ws.run(["backup", dir, "--json"])
        #expect(good.code == 0 && good.json["chainCheck"] == nil, "\(good.stdout)\(good.stderr)")
        let goodID = good.json["snapshot"] as? String ?? ""
        try chain.flip(ws)
        let bad = try ws.run(["backup", dir, "--json"])
        #expect(bad.code == 0, "\(bad.stdout)\(bad.stderr)")
        let badID = bad.json["snapshot"] as? String ?? ""
        try ws.ok(["verify", "--read-data"])

        let ok = try ws.run(["verify", "--chain", goodID, "--json"])
        #expect(ok.code == 0, "\(ok.stdout)\(ok.stderr)")
        let outcome = (ok.json["chain"] as? [[String: Any]])?.first ?? [:]
        #expect(outcome["valid"] as? Bool == true && outcome["height"] as? Int == 120, "\(ok.stdout)")
        #expect(outcome["tipHash"] as? String == ChainTests.tip)
        #expect((outcome["bytesFetched"] as? Int ?? 0) > 0)

        let named = try ws.run(["verify", "--chain", "bitcoind", badID])
        #expect(named.code == 14, "\(named.stdout)\(named.stderr)")
        let line = "corrupt: blocks/blk00000.dat offset \(ChainTests.block60) height 60 (block "
        #expect(named.stdout.contains(line) && named.stderr.contains(line), "\(named.stdout)\(named.stderr)")
        #expect(named.stdout.contains("merkle root mismatch"))
        #expect(named.stderr.contains("error: the chain in snapshot \(badID.prefix(8)) is not valid: 1 problem(s)"))
        #expect(named.stderr.contains("HINT: "))

        // Every snapshot when none is named; --chain none checks no chain.
        let all = try ws.run(["verify", "--chain", "--json"])
        #expect(all.code == 14 && (all.json["chain"] as? [Any])?.count == 2, "\(all.stdout)")
        let none = try ws.run(["verify", "--chain", "none", badID])
        #expect(none.code == 0, "\(none.stdout)\(none.stderr)")
    }
}
