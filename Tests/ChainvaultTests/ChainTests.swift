import Foundation
import Testing
import VaultCore

/// `chain verify` and the chain check of backups, end to end on real mainnet blocks (shared
/// fixture): a flipped bit that byte-level verification cannot see is named by file, offset and
/// height, and a snapshot of it under a required check never becomes `latest`.
@Suite struct ChainTests {
    static let fixture: String = {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { dir.deleteLastPathComponent() }
        return dir.appendingPathComponent("Tests/ChainFixtures/mainnet-blk-0-120.dat").path
    }()
    static let block60 = 13452  // record offset of height 60 in the fixture
    static let tip = "0000000068e1ce37e6d50d1e960255c00047d9c808146b77df2dc186ab1bc92a"

    func node(_ ws: Workspace) throws -> String {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.fixture))
        try ws.write("node/blocks/blk00000.dat", Array(bytes))
        ws.environment["CHAINVAULT_STATE_DIRECTORY"] = ws.path("state")
        return ws.path("node")
    }

    func flip(_ ws: Workspace) throws {
        let path = ws.path("node/blocks/blk00000.dat")
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[Self.block60 + 8 + 150] ^= 0x01  // inside block 60's coinbase transaction
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    @Test func chainVerifyPassesTheRealChainAndNamesAFlippedBit() throws {
        let ws = try Workspace()
        let dir = try node(ws)
        let good = try ws.run(["chain", "verify", dir, "--json"])
        #expect(good.code == 0, "\(good.stdout)\(good.stderr)")
        #expect(good.json["height"] as? Int == 120 && good.json["tipHash"] as? String == Self.tip)
        try flip(ws)
        let bad = try ws.run(["chain", "verify", dir, "--full"])
        #expect(bad.code == 14, "\(bad.stdout)\(bad.stderr)")
        #expect(bad.stdout.contains("corrupt: blocks/blk00000.dat offset \(Self.block60) height 60 (block "))
        #expect(bad.stdout.contains("merkle root mismatch"))
        let none = try ws.run(["chain", "verify", dir, "--chain", "none"])
        #expect(none.code == 0)
        let unknown = try ws.run(["chain", "verify", dir, "--chain", "nosuch"])
        #expect(unknown.code == 2 && unknown.stderr.contains("unknown chain profile 'nosuch'"))
    }

    @Test func aCorruptChainUnderARequiredCheckIsKeptButNeverLatest() throws {
        let ws = try Workspace()
        let dir = try node(ws)
        try ws.ok(["init"])
        let first = try ws.run(["backup", dir, "--chain", "bitcoind", "--chain-check", "required", "--json"])
        #expect(first.code == 0, "\(first.stdout)\(first.stderr)")
        let good = first.json["snapshot"] as? String ?? ""
        #expect((first.json["chainCheck"] as? [String: Any])?["height"] as? Int == 120)
        try flip(ws)
        let second = try ws.run(["backup", dir, "--chain", "bitcoind", "--chain-check", "required", "--json"])
        #expect(second.code == 14, "\(second.stdout)\(second.stderr)")
        let bad = second.json["snapshot"] as? String ?? ""
        #expect(!bad.isEmpty && bad != good)
        // Byte-level verification sees nothing wrong: the repository holds exactly what was read.
        try ws.ok(["verify", "--read-data"])
        let list = try ws.ok(["snapshots"])
        #expect(list.stdout.contains("CHAIN CHECK FAILED"))
        let restored = try ws.run(["restore", "latest", "--target", ws.path("restored")])
        #expect(restored.code == 0, "\(restored.stdout)\(restored.stderr)")
        let back = try Data(contentsOf: URL(fileURLWithPath: ws.path("restored/blocks/blk00000.dat")))
        #expect(back == (try Data(contentsOf: URL(fileURLWithPath: Self.fixture))), "latest must be the valid snapshot")
    }

    /// The demo's synthetic freezer (tables of unequal length) made the geth check trap on a
    /// negative offset, and with it every backup of such a directory (exit 132). A damaged format
    /// is reported, never a crash; and a backup checks only a chain it was told about.
    @Test func aDamagedFreezerIsReportedNotACrash() throws {
        let ws = try Workspace()
        try ws.ok(["demo", "--generate", ws.path("node"), "--size", "8M"])
        try FileManager.default.removeItem(atPath: ws.path("node/blocks/blk00000.dat"))
        let r = try ws.run(["chain", "verify", ws.path("node"), "--chain", "geth"])
        #expect(r.code == 0 || r.code == 14, "\(r.code) \(r.stderr.suffix(2000))")
        try ws.ok(["init"])
        let backup = try ws.run(["backup", ws.path("node"), "--json"])
        #expect(backup.code == 0 && backup.json["chainCheck"] == nil, "\(backup.code) \(backup.stdout)")
    }
}
