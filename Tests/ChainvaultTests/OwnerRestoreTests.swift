import Foundation
import Glibc
import Testing

/// Issue 16: a restore as root that cannot set an owner (an id the user namespace does not map,
/// NFS root squashing) lost that failure silently and then applied setuid/setgid to an entry left
/// owned by root. Now it warns once, restores everything, and drops those two bits where the owner
/// could not be set, in a new target and in place.
struct OwnerRestoreTests {
    /// `unshare -U -r` maps only root: a chown to any other id fails with EINVAL inside it.
    static let canUnshareUser: Bool = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        p.arguments = ["-U", "-r", "/bin/true"]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()

    static func status(_ path: String) -> stat {
        var st = stat()
        #expect(lstat(path, &st) == 0, "\(path)")
        return st
    }

    /// Runs `chainvault args` as root of a user namespace that maps no other id.
    static func runUnmapped(_ w: Workspace, _ args: [String]) throws -> Workspace.Run {
        try w.run(["-U", "-r", Workspace.binary] + args, executable: "/usr/bin/unshare")
    }

    @Test(.enabled(if: geteuid() == 0 && canUnshareUser, "needs root and 'unshare -U -r'"))
    func anOwnerThatCannotBeSetWarnsOnceAndDropsSetuidAndSetgid() throws {
        let w = try Workspace()
        try w.write("src/bin/tool", Array("#!/bin/sh\n".utf8), mode: 0o755)
        try w.write("src/shared/data", Array("data".utf8))
        try FileManager.default.createSymbolicLink(atPath: w.path("src/link"), withDestinationPath: "bin/tool")
        for p in ["src/bin/tool", "src/shared/data", "src/shared", "src/link"] {
            #expect(lchown(w.path(p), 1000, 1000) == 0)
        }
        // After the chown: a chown clears setuid and setgid.
        #expect(chmod(w.path("src/bin/tool"), 0o4755) == 0)
        #expect(chmod(w.path("src/shared"), 0o2775) == 0)
        try w.ok(["init"])
        try w.ok(["backup", w.path("src")])

        let out = w.path("out")
        let first = try Self.runUnmapped(w, ["restore", "latest", "--target", out])
        #expect(first.code == 0, "\(first.stderr)")
        let warned = first.stderr.split(separator: "\n").filter { $0.contains("cannot set owners") }
        #expect(warned.count == 1, "\(first.stderr)")
        #expect(Self.status(out + "/bin/tool").st_mode & 0o7777 == 0o755)
        #expect(Self.status(out + "/shared").st_mode & 0o7777 == 0o775)
        #expect(Self.status(out + "/shared/data").st_mode & 0o7777 == 0o644)
        // Everything else as in the source: content, mtimes, the symlink, the other modes.
        let onlyTheDroppedBits = ["bin/tool: mode 104755 vs 100755", "shared: mode 42775 vs 40775"]
        #expect(try treeDifferences(w.path("src"), out).sorted() == onlyTheDroppedBits)

        // In place: only the metadata differs, so the restore's step sets it through the parent.
        #expect(chmod(out + "/bin/tool", 0o644) == 0)
        let again = try Self.runUnmapped(w, ["restore", "latest", "--target", out])
        #expect(again.code == 0, "\(again.stderr)")
        #expect(again.stderr.contains("cannot set owners"), "\(again.stderr)")
        #expect(try treeDifferences(w.path("src"), out).sorted() == onlyTheDroppedBits)
    }
}
