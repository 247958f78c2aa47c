import Foundation
import Glibc
import Testing
import VaultCore

struct BackupRestoreTests {
    @Test func backupThenRestoreGivesAByteIdenticalTreeWithMetadata() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        let b = try w.ok(["backup", src, "--json", "--tag", "nightly"])
        #expect((b.json["snapshot"] as? String)?.count == 64)
        try w.ok(["restore", "latest", "--target", w.path("out")])
        #expect(try treeDifferences(src, w.path("out")) == [])
        var a = stat(), c = stat()
        lstat(w.path("out/hardlink.log"), &a); lstat(w.path("out/blocks/text.log"), &c)
        #expect(a.st_ino == c.st_ino, "hardlinks are restored as hardlinks")
        let ls = try w.ok(["ls", "latest", "blocks"])
        #expect(ls.stdout.contains("/blocks/current -> blk00000.dat"))
        #expect(try w.ok(["snapshots"]).stdout.contains("[nightly]"))
    }

    @Test func aSecondBackupOfUnchangedDataStoresNothingAndReadsNothing() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        let second = try w.ok(["backup", src, "--json"]).json
        let stats = second["stats"] as? [String: Any] ?? [:]
        #expect(stats["bytesRead"] as? Int == 0)
        #expect(stats["bytesNew"] as? Int == 0)
        #expect(stats["bytesStored"] as? Int == 0)
        #expect(second["parent"] as? String != nil)
    }

    @Test func changedFilesAreReadAgainAndOnlyNewChunksStored() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.write("src/blocks/blk00001.dat", SecureRandom.bytes(12_000_000))
        try w.ok(["init"])
        try w.ok(["backup", src])
        let handle = FileHandle(forWritingAtPath: src + "/blocks/blk00001.dat")!
        handle.seekToEndOfFile(); handle.write(Data(SecureRandom.bytes(100_000))); handle.closeFile()
        let stats = try w.ok(["backup", src, "--json"]).json["stats"] as? [String: Any] ?? [:]
        #expect(stats["bytesRead"] as? Int == 12_100_000, "only the changed file is read")
        // Content-defined chunking: an append re-stores only the last chunk (at most 4 MiB) and the new bytes.
        let new = stats["bytesNew"] as? Int ?? .max
        #expect(new >= 100_000 && new <= (4 << 20) + 100_000, "bytesNew \(new)")
        try w.ok(["restore", "latest", "--target", w.path("out")])
        #expect(try treeDifferences(src, w.path("out")) == [])
    }

    @Test func excludesAreHonoured() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.write("src/LOCK", [1])
        try w.ok(["init"])
        try w.ok(["backup", src, "--exclude", "LOCK", "--exclude", "*.log", "--exclude", "config/*"])
        let ls = try w.ok(["ls", "latest"]).stdout
        #expect(!ls.contains("LOCK") && !ls.contains(".log") && !ls.contains("priv_validator"))
        #expect(ls.contains("blk00000.dat"))
    }

    @Test func partialRestoreRestoresOnlyTheSubpath() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        try w.ok(["restore", "latest", "--target", w.path("out"), "--path", "config"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: w.path("out")) == ["config"])
        #expect(try treeDifferences(src + "/config", w.path("out/config")) == [])
    }

    @Test func deltaRestoreReusesMatchingBytesAndKeepsThePreviousTree() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        try w.ok(["restore", "latest", "--target", w.path("node")])
        // Damage the live copy: one file corrupted, one deleted.
        try w.write("node/blocks/text.log", Array("garbage".utf8))
        try FileManager.default.removeItem(atPath: w.path("node/empty-file"))
        var before = stat()
        lstat(w.path("node/blocks/blk00000.dat"), &before)
        let r = try w.ok(["restore", "latest", "--target", w.path("node"), "--delta", "--json"]).json
        // In place (issue 11), the unchanged 3 MB file is not even copied: it keeps its inode
        // (the staged delta this test was written for copied it, counting it as reused).
        var after = stat()
        lstat(w.path("node/blocks/blk00000.dat"), &after)
        #expect(after.st_ino == before.st_ino, "the unchanged 3 MB file stays, not fetched")
        #expect((r["bytesFetched"] as? Int ?? .max) < 1_500_000)
        #expect(try treeDifferences(src, w.path("node")) == [])
        let previous = r["previous"] as? String ?? ""
        #expect(previous.contains("node.pre-restore-"))
        #expect(
            FileManager.default.contents(atPath: previous + "/blocks/text.log") == Data("garbage".utf8),
            "the old tree is kept, not deleted")
    }

    /// Issue 11 made an in-place restore the default for a non-empty directory (it used to be
    /// refused without --delta or --force); a target that is not a directory is still refused.
    @Test func aNonEmptyTargetIsRestoredInPlaceOrRefusedAndKeptEitherWay() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        try w.write("file-target", [9])
        let refused = try w.run(["restore", "latest", "--target", w.path("file-target")])
        #expect(refused.code == 17)
        #expect(refused.stderr.contains("exists and is not empty") && refused.stderr.contains("HINT:"))
        #expect(FileManager.default.contents(atPath: w.path("file-target")) == Data([9]))
        try w.write("node/precious", [1, 2, 3])
        let inPlace = try w.ok(["restore", "latest", "--target", w.path("node"), "--json"]).json
        #expect(inPlace["mode"] as? String == "in-place")
        #expect(
            FileManager.default.contents(atPath: (inPlace["previous"] as? String ?? "") + "/precious")
                == Data([1, 2, 3]))
        #expect(try treeDifferences(src, w.path("node")) == [])
        try w.write("node/precious", [4, 5])
        let forced = try w.ok(["restore", "latest", "--target", w.path("node"), "--force", "--json"]).json
        let previous = forced["previous"] as? String ?? ""
        #expect(FileManager.default.contents(atPath: previous + "/precious") == Data([4, 5]))
        #expect(try treeDifferences(src, w.path("node")) == [])
    }

    @Test func forgetAndPruneKeepWhatRemainingSnapshotsNeed() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        try w.write("src/blocks/blk00000.dat", SecureRandom.bytes(2_000_000))
        try w.ok(["backup", src])
        let refused = try w.run(["forget"])
        #expect(refused.code == 2, "an empty policy would forget everything")
        let r = try w.ok(["forget", "--keep-last", "1", "--prune", "--json"]).json
        #expect((r["removed"] as? [String])?.count == 1)
        #expect(((r["prune"] as? [String: Any])?["bytesFreed"] as? Int ?? 0) > 1_000_000)
        try w.ok(["verify", "--read-data"])
        try w.ok(["restore", "latest", "--target", w.path("out")])
        #expect(try treeDifferences(src, w.path("out")) == [])
    }

    @Test func keysCanBeAddedListedAndRemovedButNeverTheLast() throws {
        let w = try Workspace()
        try w.ok(["init"])
        try w.write("pass", Array("a long passphrase\n".utf8), mode: 0o600)
        try w.ok(["key", "add", "--new-password-file", w.path("pass")])
        let list = try w.ok(["key", "list", "--json"]).stdout
        #expect(list.components(separatedBy: "\"kind\"").count == 3)
        let passKey = try w.run(
            ["key", "list", "--json", "--password-file", w.path("pass")], env: ["CHAINVAULT_KEY_FILE": ""])
        #expect(passKey.code == 0)
        let ids = (try JSONSerialization.jsonObject(with: Data(passKey.stdout.utf8)) as? [[String: Any]] ?? []).filter {
            ($0["current"] as? Bool) == false
        }.compactMap { $0["id"] as? String }
        try w.ok(["key", "remove", String(ids[0].prefix(12)), "--password-file", w.path("pass")])
        let remaining = (try JSONSerialization.jsonObject(with: Data(passKey.stdout.utf8)) as? [[String: Any]] ?? [])
            .filter { ($0["current"] as? Bool) == true }.compactMap { $0["id"] as? String }
        let last = try w.run(
            ["key", "remove", remaining[0], "--password-file", w.path("pass")], env: ["CHAINVAULT_KEY_FILE": ""])
        #expect(last.code == 2)
        #expect(last.stderr.contains("last key"))
        let gone = try w.run(["snapshots"])
        #expect(gone.code == 11, "the removed key no longer opens the repository")
    }
}

struct ProtectedPathTests {
    /// The validator scenario: the snapshot holds signing state at height 5, the live node has
    /// since signed height 9. A restore must not move it back to 5.
    @Test func aProtectedFileKeepsItsNewerLiveCopy() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        try w.ok(["restore", "latest", "--target", w.path("node")])
        try w.write("node/config/priv_validator_state.json", Array("{\"height\":\"9\"}".utf8), mode: 0o600)
        try w.write("node/blocks/text.log", Array("corrupted".utf8))

        let r = try w.ok([
            "restore", "latest", "--target", w.path("node"), "--force", "--protect", "config/priv_validator_state.json"
        ])
        #expect(r.stderr.contains("kept the live copy of protected config/priv_validator_state.json"))
        #expect(
            FileManager.default.contents(atPath: w.path("node/config/priv_validator_state.json"))
                == Data("{\"height\":\"9\"}".utf8))
        #expect(
            FileManager.default.contents(atPath: w.path("node/blocks/text.log"))
                == FileManager.default.contents(atPath: src + "/blocks/text.log"),
            "everything else is restored")

        // A glob without '/' matches the name at any depth, as in Policies/solana.json.
        try w.ok(["restore", "latest", "--target", w.path("node"), "--delta", "--protect", "priv_validator_*.json"])
        #expect(
            FileManager.default.contents(atPath: w.path("node/config/priv_validator_state.json"))
                == Data("{\"height\":\"9\"}".utf8))

        let forced = try w.ok([
            "restore", "latest", "--target", w.path("node"), "--force", "--protect", "config/priv_validator_state.json",
            "--overwrite-protected"
        ])
        #expect(forced.stderr.contains("can double-sign"))
        #expect(
            FileManager.default.contents(atPath: w.path("node/config/priv_validator_state.json"))
                == Data("{\"height\":\"5\"}".utf8))
    }

    @Test func aProtectedFileWithNoLiveCopyIsRestoredWithAWarning() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        let r = try w.ok([
            "restore", "latest", "--target", w.path("fresh"), "--protect", "config/priv_validator_state.json"
        ])
        #expect(r.stderr.contains("restored from the snapshot"))
        #expect(
            FileManager.default.contents(atPath: w.path("fresh/config/priv_validator_state.json"))
                == Data("{\"height\":\"5\"}".utf8))
    }
}

struct IncludeTests {
    @Test func includesSaveOnlyMatchingEntriesAndExcludesStillApply() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.write("src/config/node_key.json", [1])
        try w.ok(["init"])
        try w.ok(["backup", src, "--include", "config", "--include", "*.dat", "--exclude", "node_key.json"])
        let ls = try w.ok(["ls", "latest"]).stdout
        #expect(ls.contains("/config/priv_validator_state.json"), "everything under an included directory")
        #expect(ls.contains("/blocks/blk00000.dat"), "a name glob at any depth")
        #expect(!ls.contains("text.log") && !ls.contains("hardlink.log") && !ls.contains("empty-file"))
        #expect(!ls.contains("node_key.json"), "excludes still apply")
    }
}
