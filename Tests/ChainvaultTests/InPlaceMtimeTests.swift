import Foundation
import Glibc
import Testing

/// Issue 11, an outside tester's D5: an in-place restore left the target directory's own mtime
/// at the restore time (its work directory is made and removed inside it after the metadata was
/// set). Every directory ends with the snapshot's mtime, also when a killed restore is completed
/// from its journal by the next run.
struct InPlaceMtimeTests {
    /// Relative path ("" for the root) -> mtime in ns of every directory.
    static func directoryMtimes(_ root: String) -> [String: Int] {
        var out: [String: Int] = [:]
        for rel in [""] + (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []) {
            var st = stat()
            guard lstat(rel.isEmpty ? root : root + "/" + rel, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
                continue
            }
            out[rel] = st.st_mtim.tv_sec * 1_000_000_000 + st.st_mtim.tv_nsec
        }
        return out
    }

    @Test(arguments: [false, true])
    func theTargetAndEveryDirectoryEndWithTheSnapshotsMtime(killedMidway: Bool) throws {
        let w = try Workspace()
        let (src, node) = try InPlaceFixture.changedInSeveralDirectories(w)
        let args = ["restore", "latest", "--target", node]
        if killedMidway {
            try InPlaceFixture.killed(w, args, at: "restore-in-place-step")
            #expect(FileManager.default.fileExists(atPath: node + "/.chainvault-restore/journal"))
        }
        let r = try w.ok(args)
        if killedMidway { #expect(r.stderr.contains("completed the interrupted restore"), "\(r.stderr)") }
        #expect(try treeDifferences(src, node) == [])
        let expected = Self.directoryMtimes(src), got = Self.directoryMtimes(node)
        #expect(got == expected, "differs at \(expected.keys.filter { got[$0] != expected[$0] }.sorted())")
    }
}
