import Foundation
import Testing
import VaultChain
import VaultCore

/// A backup's chain check trusts what its state verified only where the new snapshot's chunk ids
/// equal its parent's (same id at the same offset = same bytes): a bit flipped in an old block
/// file changes a chunk id and is parsed and caught again, and an appended file is parsed only
/// from the last record start before its first changed chunk.
@Suite struct ChainIncrementalBackupTests {
    /// ~80 KB regtest blocks in 8 MiB files: 200 blocks fill two files and start a third.
    func chain(_ ws: Workspace, blocks: Int) throws -> String {
        let writer = try RegtestChainWriter(
            directory: ws.path("node/blocks"), key: [1, 2, 3, 4, 5, 6, 7, 8],
            maxFileSize: 8 << 20)
        try writer.append(blocks, transactions: 200, payload: 330)
        return ws.path("node")
    }

    func backup(_ ws: Workspace, _ dir: String, _ mode: String) throws -> (code: Int32, check: [String: Any]) {
        let r = try ws.run(["backup", dir, "--chain", "bitcoind", "--chain-check", mode, "--json"])
        return (r.code, r.json["chainCheck"] as? [String: Any] ?? ["output": r.stdout + r.stderr])
    }

    func blockBytes(_ ws: Workspace) throws -> UInt64 {
        let dir = ws.path("node/blocks")
        return try FileManager.default.contentsOfDirectory(atPath: dir).filter {
            $0.hasSuffix(".dat") && $0 != "xor.dat"
        }
        .reduce(0) { $0 + ((try FileManager.default.attributesOfItem(atPath: dir + "/" + $1)[.size] as? UInt64) ?? 0) }
    }

    @Test(arguments: ["required", "recorded"])
    func aBitFlippedInAnOldBlockFileAfterTwoBackupsIsCaughtByTheThirdCheck(mode: String) throws {
        let ws = try Workspace()
        ws.environment["CHAINVAULT_STATE_DIRECTORY"] = ws.path("state")
        var dir = try chain(ws, blocks: 150)
        try ws.ok(["init"])
        let first = try backup(ws, dir, mode)
        #expect(first.code == 0 && first.check["valid"] as? Bool == true, "\(first.check)")
        dir = try chain(ws, blocks: 200)
        let second = try backup(ws, dir, mode)
        #expect(second.code == 0 && second.check["height"] as? Int == 200, "\(second.check)")
        #expect((second.check["bytesChecked"] as? Int ?? .max) < 8 << 20, "the second check re-read old files")

        // Past the 4 KiB checkpoint an older check kept before each mark: only a chunk id sees it.
        let path = ws.path("node/blocks/blk00000.dat")
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count / 2] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let third = try backup(ws, dir, mode)
        #expect(third.check["valid"] as? Bool == false, "\(third.check)")
        // A recorded check only reports; a required one fails the backup (its snapshot kept, flagged).
        #expect(third.code == (mode == "required" ? 14 : 0), "\(third.check)")
        let problems = third.check["firstProblems"] as? [String] ?? []
        #expect(problems.contains { $0.contains("blocks/blk00000.dat offset ") }, "\(problems)")
    }

    @Test func anAppendedBlockFileIsParsedFromTheLastRecordStartBeforeItsChangedChunk() throws {
        let ws = try Workspace()
        ws.environment["CHAINVAULT_STATE_DIRECTORY"] = ws.path("state")
        var dir = try chain(ws, blocks: 200)
        try ws.ok(["init"])
        let first = try backup(ws, dir, "required")
        let before = try blockBytes(ws)
        #expect(first.code == 0 && first.check["bytesChecked"] as? Int == Int(before), "\(first.check)")
        dir = try chain(ws, blocks: 220)
        let appended = try blockBytes(ws) - before
        let second = try backup(ws, dir, "required")
        #expect(second.code == 0 && second.check["height"] as? Int == 220, "\(second.check)")
        let checked = UInt64(second.check["bytesChecked"] as? Int ?? 0)
        // At most the parent's last chunk (≤ 4 MiB, FastCDC's maximum) and one record-start step
        // (1 MiB) before it are parsed again in the active blk and rev files.
        #expect(checked >= appended && checked <= appended + 2 * (5 << 20), "checked \(checked), appended \(appended)")
        #expect(checked < before / 2, "checked \(checked) of \(before + appended)")
    }
}
