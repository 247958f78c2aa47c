import Foundation
import Glibc
import Testing
import VaultCore

/// `dump`, `diff` and `find` through the binary: what an operator reaches for before a restore.
@Suite struct SnapshotQueryTests {
    @Test func dumpWritesOneFileByteForByteIncludingHolesAndNonUTF8Names() throws {
        let w = try Workspace()
        try w.ok(["init"])
        let src = try w.makeSourceTree()
        // A sparse file: a hole between two data ranges is stored as a zero run, not as chunks.
        let sparse = src + "/blocks/sparse.dat"
        let fd = open(sparse, O_CREAT | O_WRONLY, 0o644)
        let head = [UInt8](repeating: 7, count: 100_000), tail = [UInt8](repeating: 9, count: 50_000)
        _ = head.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        _ = tail.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 20_000_000) }
        close(fd)
        let rawName: [UInt8] = Array("keystore-".utf8) + [0xff, 0xfe]
        let rawPath = Array(src.utf8) + [47] + rawName
        let secret = Array("{\"crypto\":\"not really\"}".utf8)
        let kfd = rawPath.withUnsafeBufferPointer { p -> Int32 in
            (p.map { CChar(bitPattern: $0) } + [0]).withUnsafeBufferPointer {
                open($0.baseAddress!, O_CREAT | O_WRONLY, 0o600)
            }
        }
        _ = secret.withUnsafeBytes { write(kfd, $0.baseAddress, $0.count) }
        close(kfd)
        try w.ok(["backup", src])

        let dumped = w.path("out.dat")
        let r = try w.run(
            ["-c", "\"$0\" dump latest /blocks/sparse.dat > \"$1\"", Workspace.binary, dumped], executable: "/bin/sh")
        #expect(r.code == 0, "\(r.stderr)")
        #expect(FileManager.default.contents(atPath: dumped) == FileManager.default.contents(atPath: sparse))
        let big = w.path("blk.dat")
        #expect(
            try w.run(
                ["-c", "\"$0\" dump latest blocks/blk00000.dat > \"$1\"", Workspace.binary, big], executable: "/bin/sh"
            ).code == 0)
        #expect(
            FileManager.default.contents(atPath: big)
                == FileManager.default.contents(atPath: src + "/blocks/blk00000.dat"))
        // The name as ls prints it (\xHH) finds the file whose name is not UTF-8.
        let key = try w.ok(["dump", "latest", "/keystore-\\xff\\xfe"])
        #expect(Array(key.stdout.utf8) == secret)
        // A reader that goes away is a normal end; a directory or a missing path is a clear error.
        let head2 = try w.run(
            [
                "-c", "set -o pipefail; \"$0\" dump latest /blocks/blk00000.dat | head -c 10 > /dev/null",
                Workspace.binary
            ],
            executable: "/bin/bash")
        #expect(head2.code == 0, "\(head2.stderr)")
        let dir = try w.run(["dump", "latest", "/blocks"])
        #expect(
            dir.code == 2 && dir.stderr.contains("is a directory") && dir.stderr.contains("restore"),
            "\(dir.code) \(dir.stderr)")
        let missing = try w.run(["dump", "latest", "/nope"])
        #expect(missing.code != 0 && missing.stderr.contains("is not in snapshot"))
    }

    @Test func dumpOfADamagedChunkFailsAndWritesNoUncheckedBytes() throws {
        let w = try Workspace()
        try w.ok(["init"])
        try w.write("src/only.dat", Array(repeating: 0x41, count: 4096) + SecureRandom.bytes(200_000))
        try w.ok(["backup", w.path("src")])
        // Flip a byte in the middle of every data pack (the file's only chunks live there).
        let packs = try FileManager.default.subpathsOfDirectory(atPath: w.repo + "/data").filter { $0.count > 10 }
        for p in packs {
            let path = w.repo + "/data/" + p
            var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
            guard bytes.count > 3000 else { continue }
            bytes[bytes.count / 3] ^= 0x10
            chmod(path, 0o644)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
        let r = try w.run(["dump", "latest", "/only.dat"])
        #expect(r.code == 14, "\(r.code) \(r.stderr)")
        #expect(!r.stdout.contains("AAAA"), "bytes of a chunk that failed its check reached stdout")
    }

    @Test func diffListsWhatChangedAndSkipsUnchangedSubtrees() throws {
        let w = try Workspace()
        try w.ok(["init"])
        let src = try w.makeSourceTree()
        let first = try #require(try w.ok(["backup", src, "--json"]).json["snapshot"] as? String)
        try w.write("src/blocks/blk00001.dat", Array(repeating: 3, count: 10_000))
        try FileManager.default.removeItem(atPath: src + "/empty-file")
        try w.write("src/blocks/text.log", Array("changed\n".utf8))
        chmod(src + "/config/priv_validator_state.json", 0o640)
        let second = try #require(try w.ok(["backup", src, "--json"]).json["snapshot"] as? String)

        let text = try w.ok(["diff", first, second]).stdout
        #expect(text.contains("+  /blocks/blk00001.dat"))
        #expect(text.contains("-  /empty-file"))
        #expect(text.contains("M  /blocks/text.log"))
        #expect(!text.contains("priv_validator_state"), "metadata-only changes are listed only with --metadata")
        #expect(text.contains("1 added") && text.contains("1 removed"))
        let withMeta = try w.ok(["diff", first, second, "--metadata"]).stdout
        #expect(withMeta.contains("U  /config/priv_validator_state.json"))

        let json = try w.ok(["diff", first, second, "--json"]).json
        let summary = try #require(json["summary"] as? [String: Any])
        #expect(summary["added"] as? Int == 1 && summary["removed"] as? Int == 1)
        #expect((summary["bytesAdded"] as? Int) == 10_000)
        #expect(
            ((json["changes"] as? [[String: Any]]) ?? []).contains {
                $0["path"] as? String == "/blocks/text.log" && $0["change"] as? String == "M"
            })
        let same = try w.ok(["diff", second, second]).stdout
        #expect(same.contains("0 added") && same.contains("0 modified"))
    }

    /// `ls SNAPSHOT PATH` follows PATH through directories only: a path that goes on below a file
    /// is not in the snapshot (it was listed as the file itself, `a/f/f` as `a/f`).
    @Test func lsOfAPathBelowAFileIsRefusedLikeAMissingPath() throws {
        let w = try Workspace()
        try w.ok(["init"])
        try w.ok(["backup", try w.makeSourceTree()])
        #expect(try w.ok(["ls", "latest", "blocks/blk00000.dat"]).stdout.contains("/blocks/blk00000.dat"))
        let missing = try w.run(["ls", "latest", "blocks/nope"])
        let below = try w.run(["ls", "latest", "blocks/blk00000.dat/blk00000.dat"])
        #expect(missing.code != 0 && below.code == missing.code, "\(below.code) \(below.stdout)")
        #expect(below.stdout.isEmpty && below.stderr.contains("is not in snapshot"), "\(below.stderr)")
    }

    @Test func findSearchesEverySnapshotByNameAndByPath() throws {
        let w = try Workspace()
        try w.ok(["init"])
        let src = try w.makeSourceTree()
        try w.ok(["backup", src])
        try w.write("src/blocks/blk00001.dat", [1, 2, 3])
        try w.ok(["backup", src])
        let byName = try w.ok(["find", "blk*.dat", "--json"])
        let found = try #require(try JSONSerialization.jsonObject(with: Data(byName.stdout.utf8)) as? [[String: Any]])
        #expect(found.count == 2)
        let counts = found.map { ($0["matches"] as? [[String: Any]] ?? []).count }
        #expect(counts == [1, 2])
        let byPath = try w.ok(["find", "config/priv_validator_state.json"]).stdout
        #expect(
            byPath.contains("/config/priv_validator_state.json") && byPath.contains("2 match(es) in 2 of 2 snapshot(s)")
        )
        // A path pattern must not be answered from a subtree that matched nothing elsewhere.
        #expect(try w.ok(["find", "blocks/*.log"]).stdout.contains("2 match(es)"))
        #expect(try w.ok(["find", "nothing-like-this"]).stdout.contains("0 match(es) in 0 of 2"))
    }

    /// An outside tester's finding (issue 11, "`latest` must mean this node's latest"): `ls`,
    /// `dump` and `diff` took the newest snapshot of any source. Now, as for `restore`, several
    /// sources make `latest` ambiguous (exit 18, the candidates listed), and the selection options
    /// choose.
    @Test func latestInTheReadingCommandsIsOneSourcesNewestOrRefusedAsAmbiguous() throws {
        let w = try Workspace()
        try w.ok(["init"])
        try w.write("a/who.txt", Array("node a".utf8))
        try w.write("b/who.txt", Array("node b".utf8))
        try w.ok(["backup", w.path("a")])
        try w.ok(["backup", w.path("b")])
        for args in [["dump", "latest", "/who.txt"], ["ls", "latest"], ["diff", "latest", "latest"]] {
            let r = try w.run(args)
            #expect(
                r.code == 18 && r.stderr.contains("ambiguous") && r.stderr.contains(w.path("a"))
                    && r.stderr.contains(w.path("b")), "\(args): \(r.code) \(r.stderr)")
        }
        #expect(try w.ok(["dump", "latest", "/who.txt", "--source", w.path("a")]).stdout == "node a")
        #expect(try w.ok(["ls", "latest", "--source", w.path("b")]).stdout.contains("who.txt"))
        #expect(try w.ok(["diff", "latest", "latest", "--source", w.path("a")]).code == 0)
    }
}

/// `unlock`, `repair index` and `key generate/add/remove` printed nothing with `--json`.
@Suite struct JSONOutputTests {
    @Test func everyRepositoryCommandAnswersInJSON() throws {
        let w = try Workspace()
        let generated = try w.ok(["key", "generate", "--output", w.path("second.key"), "--json"]).json
        #expect(generated["written"] as? String == w.path("second.key"))
        try w.ok(["init"])
        try w.write("src/a", [1, 2, 3])
        try w.ok(["backup", w.path("src")])
        let unlock = try w.ok(["unlock", "--json"]).json
        #expect((unlock["removed"] as? [String]) == [])
        let repair = try w.ok(["repair", "index", "--json"]).json
        #expect(repair["packsIndexed"] as? Int == repair["packs"] as? Int && (repair["blobs"] as? Int ?? 0) >= 2)
        let added = try #require(
            try w.ok(["key", "add", "--new-key-file", w.path("second.key"), "--json"]).json["added"] as? String)
        #expect(added.count == 64)
        let removed = try w.ok(["key", "remove", added, "--json"]).json
        #expect(removed["removed"] as? String == added)
    }
}
