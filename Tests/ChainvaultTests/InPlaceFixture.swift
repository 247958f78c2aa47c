import Foundation
import Glibc
import Testing

/// The set-up the in-place restore, interruption, mount and lock tests share: a source backed up
/// and restored once, and a restore stopped at a failpoint then killed or sent SIGTERM. Waiting is
/// on states the process reports (stopped in /proc, exited), each with a generous bound.
enum InPlaceFixture {
    /// `makeSourceTree` as `src`, a repository and one backup of it; returns the source.
    static func backedUpSource(_ w: Workspace) throws -> String {
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        return src
    }

    /// `backedUpSource`, restored into `node`.
    static func restoredNode(_ w: Workspace) throws -> (src: String, node: String) {
        let src = try backedUpSource(w)
        let node = w.path("node")
        try w.ok(["restore", "latest", "--target", node])
        return (src, node)
    }

    /// `restoredNode` (with a deeper directory) then changed in several directories: a damaged
    /// file, a stray file at the top and one deep down, a removed file.
    static func changedInSeveralDirectories(_ w: Workspace) throws -> (src: String, node: String) {
        let src = try w.makeSourceTree()
        try w.write("src/chainstate/deep/000001.ldb", Array(repeating: 7, count: 10_000))
        try w.ok(["init"])
        try w.ok(["backup", src])
        let node = w.path("node")
        try w.ok(["restore", "latest", "--target", node])
        try InPlaceRestoreTests.rot(node + "/blocks/blk00000.dat", at: 10, keepMtime: false)
        try w.write("node/stray.bin", [1, 2, 3])
        try w.write("node/chainstate/deep/000002.log", [4])
        try FileManager.default.removeItem(atPath: node + "/empty-file")
        return (src, node)
    }

    /// Runs `args` until it stops itself at `point`, then SIGKILL; returns once it has exited.
    static func killed(_ w: Workspace, _ args: [String], at point: String) throws {
        let p = try InPlaceRestoreTests.startStopping(w, args, at: point)
        try InPlaceRestoreTests.waitStopped(p)
        kill(p.processIdentifier, SIGKILL)
        kill(p.processIdentifier, SIGCONT)
        p.waitUntilExit()
    }

    /// Runs `args` until it stops itself at `point`, then SIGTERM and SIGCONT; returns its exit
    /// status, recording an issue (and killing it) when it still runs `seconds` later. nil when
    /// it ran to its end without reaching `point` (recorded as an issue too).
    static func terminated(
        _ w: Workspace, _ args: [String], at point: String,
        within seconds: Double = 10
    ) throws -> Int32? {
        let p = try InPlaceRestoreTests.startStopping(w, args, at: point)
        do { try InPlaceRestoreTests.waitStopped(p) } catch {
            p.waitUntilExit()
            Issue.record("the restore ran to its end (exit \(p.terminationStatus)) without reaching \(point)")
            return nil
        }
        kill(p.processIdentifier, SIGTERM)
        kill(p.processIdentifier, SIGCONT)
        let deadline = Date() + seconds
        while p.isRunning && Date() < deadline { usleep(10_000) }
        #expect(!p.isRunning, "a restore stops within \(seconds) s of SIGTERM")
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        return p.terminationStatus
    }
}
