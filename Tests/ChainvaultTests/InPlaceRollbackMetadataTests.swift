import Foundation
import Glibc
import Testing

/// Issue 11: after `--rollback` (and after a rebuild stopped by SIGTERM) the target is exactly
/// the old tree, metadata included. The old binary put back content, names and modes, but every
/// directory the restore had changed (the target's own included) kept the time of the rollback.
struct InPlaceRollbackMetadataTests {
    /// Relative path ("" for the root) -> "mode:mtime in ns" of every directory, the restore's
    /// work directory aside.
    static func directories(_ root: String) -> [String: String] {
        var out: [String: String] = [:]
        for rel in [""] + (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? [])
        where !rel.hasPrefix(".chainvault-restore") {
            var st = stat()
            guard lstat(rel.isEmpty ? root : root + "/" + rel, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
                continue
            }
            let mtime = st.st_mtim.tv_sec * 1_000_000_000 + st.st_mtim.tv_nsec
            out[rel] = "\(String(st.st_mode & 0o7777, radix: 8)):\(mtime)"
        }
        return out
    }

    /// A restored node changed in several directories: content, a removed file, strays, a new
    /// directory, a directory's mode. Returns the source.
    static func changedNode(_ w: Workspace) throws -> String {
        let (src, node) = try InPlaceFixture.changedInSeveralDirectories(w)
        try w.write("node/new-dir/inside.bin", [5])
        chmod(node + "/empty-dir", 0o750)
        return src
    }

    /// Stopped at `point` and killed (SIGKILL: before the journal in the build, after it between
    /// two steps), then `--rollback`: every directory's mode and mtime (ns) as before.
    @Test(.timeLimit(.minutes(5)), arguments: ["restore-in-place-build", "restore-in-place-step"])
    func rollbackAfterAKillPutsBackEveryDirectorysMtime(point: String) throws {
        let w = try Workspace()
        _ = try Self.changedNode(w)
        let node = w.path("node")
        let old = InPlaceInterruptionTests.fingerprint(node), before = Self.directories(node)
        let args = ["restore", "latest", "--target", node]
        try InPlaceFixture.killed(w, args, at: point)
        try w.ok(args + ["--rollback"])
        #expect(InPlaceInterruptionTests.fingerprint(node) == old)
        #expect(!FileManager.default.fileExists(atPath: node + "/.chainvault-restore"))
        let after = Self.directories(node)
        #expect(after == before, "differs at \(before.keys.filter { after[$0] != before[$0] }.sorted())")
    }

    /// SIGTERM in the rebuild: the restore stops (exit 130) with the old tree, its directories'
    /// mtimes included (its work directory was made and removed inside the target).
    @Test(.timeLimit(.minutes(5))) func aRebuildStoppedBySigtermLeavesEveryDirectorysMtime() throws {
        let w = try Workspace()
        _ = try Self.changedNode(w)
        let node = w.path("node")
        let before = Self.directories(node)
        let args = ["restore", "latest", "--target", node]
        #expect(try InPlaceFixture.terminated(w, args, at: "restore-in-place-build") == 130)
        let after = Self.directories(node)
        #expect(after == before, "differs at \(before.keys.filter { after[$0] != before[$0] }.sorted())")
    }
}
