import Foundation
import Glibc
import Testing
import VaultChain
import VaultCore

/// Bitcoin Core (v28+) XORs each node's block files with its own key: a backup stores them
/// de-obfuscated (FORMAT.md §7, "Content transforms"), so two nodes of one chain store its blocks
/// once, and every way of getting bytes back (staged and in-place restore, dump, diff, verify
/// --chain) gives each node's own disk bytes again.
@Suite struct ChainDedupTests {
    static let keyA: [UInt8] = [0x95, 0x47, 0x39, 0x30, 0xf3, 0x68, 0x0c, 0x28]
    static let keyB: [UInt8] = [0x11, 0xe2, 0x7c, 0x05, 0x9a, 0x3b, 0xd4, 0x60]
    static let keyC: [UInt8] = [0x5a, 0x00, 0x81, 0x2f, 0x00, 0xc7, 0x13, 0xee]

    /// The same chain (same seed) with `key`: ~80 KB blocks in 8 MiB files, the active pair
    /// preallocated with raw zeros as Bitcoin Core leaves it.
    @discardableResult
    func node(_ ws: Workspace, _ name: String, key: [UInt8], blocks: Int = 120) throws -> UInt64 {
        try? FileManager.default.removeItem(atPath: ws.path(name))
        let w = try RegtestChainWriter(
            directory: ws.path("\(name)/regtest/blocks"), key: key, seed: 5,
            maxFileSize: 8 << 20, preallocate: true)
        try w.append(blocks, transactions: 200, payload: 330)
        try ws.write("\(name)/bitcoin.conf", Array("regtest=1\n".utf8))
        return (w.blocks + w.undo).reduce(0) { $0 + UInt64($1.size) }  // the records: the chain's bytes
    }

    func repositoryBytes(_ ws: Workspace) -> UInt64 {
        var total: UInt64 = 0
        for case let rel as String in FileManager.default.enumerator(atPath: ws.repo)?.allObjects ?? [] {
            var st = stat()
            if lstat(ws.repo + "/" + rel, &st) == 0, st.st_mode & S_IFMT == S_IFREG { total += UInt64(st.st_size) }
        }
        return total
    }

    func backup(_ ws: Workspace, _ name: String, _ extra: [String] = []) throws -> (id: String, added: UInt64) {
        let before = repositoryBytes(ws)
        let r = try ws.ok(["backup", ws.path(name), "--json"] + extra)
        return (r.json["snapshot"] as? String ?? "", repositoryBytes(ws) - before)
    }

    func dump(_ ws: Workspace, _ snapshot: String, _ path: String) throws -> [UInt8] {
        let out = ws.path("dump.out")
        let r = try ws.run(
            ["-c", "\"$0\" dump \"$1\" \"$2\" > \"$3\"", Workspace.binary, snapshot, path, out],
            executable: "/bin/sh")
        #expect(r.code == 0, "\(r.stderr)")
        return Array(try Data(contentsOf: URL(fileURLWithPath: out)))
    }

    @Test func aSecondNodeWithAnotherKeyAddsAtMostFivePercentAndBothRestoreByteIdentical() throws {
        let ws = try Workspace()
        try ws.ok(["init"])
        try node(ws, "a", key: Self.keyA)
        let chainBytes = try node(ws, "b", key: Self.keyB)
        let a = try backup(ws, "a")
        let b = try backup(ws, "b")
        let share = Double(b.added) / Double(chainBytes)
        print(
            "second node: \(b.added) bytes added for \(chainBytes) bytes of blocks and undo data (\(String(format: "%.2f", share * 100)) %); first node \(a.added)"
        )
        #expect(share <= 0.05, "the second node added \(b.added) of \(chainBytes) bytes")
        // What storing them as they are costs (chainvault before the transform, or --chain none).
        try node(ws, "c", key: Self.keyC)
        let c = try backup(ws, "c", ["--chain", "none"])
        #expect(Double(c.added) > 0.5 * Double(chainBytes), "a third key stored as is: \(c.added) of \(chainBytes)")

        for (snapshot, name) in [(a.id, "a"), (b.id, "b"), (c.id, "c")] {
            try ws.ok(["restore", snapshot, "--target", ws.path("restored-\(name)")])
            #expect(
                try treeDifferences(ws.path(name), ws.path("restored-\(name)")).isEmpty, "staged restore of \(name)")
        }
        let blk = "/regtest/blocks/blk00000.dat"
        #expect(try dump(ws, b.id, blk) == Array(try Data(contentsOf: URL(fileURLWithPath: ws.path("b" + blk)))))
        let diff = try ws.ok(["diff", a.id, b.id, "--json"]).stdout
        #expect(diff.contains("blk00000.dat") && diff.contains("xor.dat"), "the disk bytes differ: \(diff)")
        try ws.ok(["verify", "--read-data"])
        let chain = try ws.run(["verify", b.id, "--chain", "bitcoind"])
        #expect(chain.code == 0, "\(chain.stdout)\(chain.stderr)")
    }

    /// In place, the live bytes are de-obfuscated before they are compared with chunk ids: a
    /// damaged chunk is the only one fetched, also when the quick check is fooled (mtime kept).
    @Test func anInPlaceRestoreFetchesOnlyTheDamagedChunksOfAnObfuscatedNode() throws {
        let ws = try Workspace()
        try ws.ok(["init"])
        let chainBytes = try node(ws, "b", key: Self.keyB)
        let snapshot = try backup(ws, "b").id
        try ws.ok(["restore", snapshot, "--target", ws.path("pristine")])
        for file in ["blk00000.dat", "rev00000.dat"] {
            let path = ws.path("b/regtest/blocks/" + file)
            var st = stat()
            stat(path, &st)
            var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            bytes[file == "rev00000.dat" ? 20_000 : bytes.count / 3] ^= 0x40  // inside the records, not the zero tail
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            if file == "rev00000.dat" { var times = [st.st_atim, st.st_mtim]; utimensat(AT_FDCWD, path, &times, 0) }
        }
        let quick = try ws.ok(["restore", snapshot, "--target", ws.path("b"), "--json"]).json
        let fetched = quick["bytesFetched"] as? Int ?? -1
        #expect(fetched > 0 && fetched <= 4 << 20, "fetched \(fetched) of \(chainBytes): only the damaged chunk")
        // The quick check (size and mtime) kept the rev file; --verify-all hashes it.
        #expect(try treeDifferences(ws.path("pristine"), ws.path("b")) == ["regtest/blocks/rev00000.dat: content"])
        let all = try ws.ok(["restore", snapshot, "--target", ws.path("b"), "--verify-all", "--json"]).json
        let fetchedAll = all["bytesFetched"] as? Int ?? -1
        #expect(fetchedAll > 0 && fetchedAll <= 4 << 20, "fetched \(fetchedAll) of \(chainBytes) with --verify-all")
        #expect(try treeDifferences(ws.path("pristine"), ws.path("b")).isEmpty)
        // One file, staged into an empty directory: its disk bytes too.
        try ws.ok(["restore", snapshot, "--path", "/regtest/blocks/rev00000.dat", "--target", ws.path("one")])
        #expect(
            FileManager.default.contents(atPath: ws.path("one/regtest/blocks/rev00000.dat"))
                == FileManager.default.contents(atPath: ws.path("pristine/regtest/blocks/rev00000.dat")))
    }

    /// The real Bitcoin Core v28 undo file (`../shared/fixtures/chain`, 1 MiB, 4,141 bytes of records
    /// XORed, the rest raw zeros) and the same records under another key, as a second node writes
    /// them: stored once, and each node restores its own bytes.
    @Test func theRealV28UndoFileUnderTwoKeysIsStoredOnceAndRestoresExactly() throws {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { dir.deleteLastPathComponent() }
        let fixtures = dir.appendingPathComponent("Tests/ChainFixtures/bitcoind-regtest-v28").path
        let disk = Array(try Data(contentsOf: URL(fileURLWithPath: fixtures + "/rev00000.dat")))
        let key = Array(try Data(contentsOf: URL(fileURLWithPath: fixtures + "/xor.dat")))
        let end = 4_141
        #expect(disk[end...].allSatisfy { $0 == 0 } && disk[end - 1] != 0)
        var other = disk
        for o in 0..<end { other[o] ^= key[o % 8] ^ Self.keyB[o % 8] }
        let ws = try Workspace()
        try ws.ok(["init"])
        let mainnet = Array(
            try Data(
                contentsOf: URL(
                    fileURLWithPath: dir.appendingPathComponent("Tests/ChainFixtures/mainnet-blk-0-120.dat").path)))
        for (name, bytes, k) in [("a", disk, key), ("b", other, Self.keyB)] {
            try ws.write("\(name)/regtest/blocks/rev00000.dat", bytes)
            try ws.write("\(name)/regtest/blocks/xor.dat", k)
            try ws.write("\(name)/regtest/blocks/blk00000.dat", mainnet)  // not XORed: stored as is
        }
        let a = try backup(ws, "a"), b = try backup(ws, "b")
        #expect(b.added < 2_000, "the second key's undo file added \(b.added) bytes")
        for (snapshot, name) in [(a.id, "a"), (b.id, "b")] {
            try ws.ok(["restore", snapshot, "--target", ws.path("restored-\(name)")])
            #expect(try treeDifferences(ws.path(name), ws.path("restored-\(name)")).isEmpty, "node \(name)")
            #expect(try dump(ws, snapshot, "/regtest/blocks/rev00000.dat") == (name == "a" ? disk : other))
        }
    }

    /// A node re-synced with a new key (xor.dat and every block file rewritten): the new
    /// snapshot shares the old one's chunks, and each restores its own key's bytes.
    @Test func aKeyThatChangesBetweenBackupsIsRecordedPerSnapshot() throws {
        let ws = try Workspace()
        try ws.ok(["init"])
        try node(ws, "b", key: Self.keyB)
        let old = try backup(ws, "b").id
        try ws.ok(["restore", old, "--target", ws.path("old")])
        let chainBytes = try node(ws, "b", key: Self.keyC)
        let new = try backup(ws, "b")
        #expect(Double(new.added) <= 0.05 * Double(chainBytes), "re-keyed node added \(new.added) of \(chainBytes)")
        try ws.ok(["restore", new.id, "--target", ws.path("new")])
        #expect(try treeDifferences(ws.path("b"), ws.path("new")).isEmpty)
        // In place over the re-keyed node: back to the old key's bytes, byte for byte.
        try ws.ok(["restore", old, "--target", ws.path("b")])
        #expect(try treeDifferences(ws.path("old"), ws.path("b")).isEmpty)
        #expect(try ws.run(["chain", "verify", ws.path("b")]).code == 0)
    }
}
