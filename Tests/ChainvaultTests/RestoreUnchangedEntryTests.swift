import Foundation
import Glibc
import Testing

/// What already equals the snapshot is left alone and not reported (outside tester): a
/// `--path FILE` restore of an unchanged file replaced it and kept a copy, and every restore
/// warned about `data/priv_validator_state.json` even when the live copy was the snapshot's.
struct RestoreUnchangedEntryTests {
    static func inode(_ path: String) -> UInt64 {
        var st = stat()
        lstat(path, &st)
        return UInt64(st.st_ino)
    }

    static func keptCopies(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter {
            $0.contains(".pre-restore-")
        }
    }

    /// Unchanged, with its mode changed, and with only its mtime changed under `--verify-all`:
    /// the same inode each time, no kept copy, the snapshot's metadata, and the output says so.
    @Test func aSingleFileThatEqualsTheSnapshotsIsLeftWhereItIs() throws {
        let w = try Workspace()
        let (src, node) = try InPlaceFixture.restoredNode(w)
        let file = node + "/blocks/blk00000.dat"
        let inode = Self.inode(file)
        let args = ["restore", "latest", "--target", node, "--path", "blocks/blk00000.dat"]

        let plain = try w.ok(args)
        #expect(
            plain.stdout.contains("in place: 1 files unchanged (0 hashed to compare), 0 entries replaced"),
            "\(plain.stdout)")
        #expect(!plain.stdout.contains("previous content"), "\(plain.stdout)")

        #expect(chmod(file, 0o600) == 0)
        let moded = try w.ok(args + ["--json"]).json
        #expect(moded["filesUnchanged"] as? Int == 1 && moded["previous"] == nil, "\(moded)")

        var times = [timespec(tv_sec: 1_000_000, tv_nsec: 5), timespec(tv_sec: 1_000_000, tv_nsec: 5)]
        #expect(utimensat(AT_FDCWD, file, &times, 0) == 0)
        let hashed = try w.ok(args + ["--verify-all", "--json"]).json
        #expect(hashed["filesUnchanged"] as? Int == 1 && hashed["filesHashed"] as? Int == 1, "\(hashed)")
        #expect(hashed["bytesFetched"] as? Int == 0, "\(hashed)")

        #expect(Self.inode(file) == inode, "the same file, never replaced")
        #expect(Self.keptCopies(node + "/blocks") == [], "no copy kept")
        #expect(try treeDifferences(src, node) == [], "mode and mtime are the snapshot's again")
    }

    /// The signing state equal to the snapshot's gives no warning in any mode; one that differs
    /// still does, and the higher state is still kept.
    @Test(arguments: [["--delta"], ["--force"], ["--path", "data/priv_validator_state.json"]])
    func aSigningStateEqualToTheSnapshotsIsNotWarnedAbout(_ mode: [String]) throws {
        let w = try Workspace()
        try w.ok(["init"])
        try w.write("node/data/blockstore.db/000001.log", Array(repeating: 5, count: 10_000))
        try w.write("node/data/priv_validator_state.json", ValidatorStateRestoreTests.state(4), mode: 0o600)
        let node = w.path("node")
        try w.ok(["backup", node])
        try w.write("node/data/blockstore.db/000001.log", Array(repeating: 6, count: 10_000))
        let state = node + "/data/priv_validator_state.json"
        let inode = Self.inode(state)

        let same = try w.ok(["restore", "latest", "--target", node] + mode)
        #expect(!same.stderr.contains("priv_validator_state"), "\(mode): \(same.stderr)")
        #expect(Self.keptCopies(node + "/data") == [], "\(mode)")
        if mode[0] != "--force" { #expect(Self.inode(state) == inode, "\(mode): left where it is") }

        try w.write("node/data/priv_validator_state.json", ValidatorStateRestoreTests.state(9), mode: 0o600)
        let higher = try w.ok(["restore", "latest", "--target", node] + mode)
        #expect(
            higher.stderr.contains("kept the live copy of protected data/priv_validator_state.json"),
            "\(mode): \(higher.stderr)")
        #expect(FileManager.default.contents(atPath: state) == Data(ValidatorStateRestoreTests.state(9)), "\(mode)")
    }
}
