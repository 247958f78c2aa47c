import Foundation
import Glibc
import Testing
import VaultCore

/// In-place restore (issue 11 §2, §3): a non-empty target is restored where it is, files that
/// did not change stay (same inode), what differs is rebuilt and swapped in, and whatever is
/// replaced or removed is kept in one rollback directory.
struct InPlaceRestoreTests {
    static func inode(_ path: String) -> UInt64 {
        var st = stat()
        lstat(path, &st)
        return UInt64(st.st_ino)
    }

    /// Damages a file without changing its size, then gives it back its mtime (bit rot). The byte
    /// is inverted, never overwritten with a fixed value: random data holds that value at the
    /// offset once in 256 runs, and the "damage" then changed nothing (a flaky test).
    static func rot(_ path: String, at offset: Int, keepMtime: Bool) throws {
        var st = stat()
        lstat(path, &st)
        let fd = open(path, O_RDWR)
        var byte: UInt8 = 0
        #expect(pread(fd, &byte, 1, off_t(offset)) == 1, "\(path) has a byte at \(offset)")
        byte ^= 0xFF
        #expect(pwrite(fd, &byte, 1, off_t(offset)) == 1)
        if keepMtime { var times = [st.st_atim, st.st_mtim]; _ = futimens(fd, &times) }
        close(fd)
    }

    @Test func unchangedFilesStayAndOnlyWhatDiffersIsFetchedAndKept() throws {
        let w = try Workspace()
        let (src, _) = try InPlaceFixture.restoredNode(w)
        let bigInode = Self.inode(w.path("node/blocks/blk00000.dat"))
        try Self.rot(w.path("node/blocks/text.log"), at: 10, keepMtime: false)
        try FileManager.default.removeItem(atPath: w.path("node/empty-file"))
        try w.write("node/extra/stray.bin", [1, 2, 3])
        let r = try w.ok(["restore", "latest", "--target", w.path("node"), "--json"]).json
        #expect(r["mode"] as? String == "in-place")
        #expect(try treeDifferences(src, w.path("node")) == [])
        #expect(Self.inode(w.path("node/blocks/blk00000.dat")) == bigInode, "an unchanged file is not copied")
        // text.log (640 KB) and hardlink.log share the damaged inode: rebuilt once, both names
        // linked to it (InPlaceHardlinkTests); the 3 MB file is neither fetched nor written.
        #expect((r["bytesFetched"] as? Int ?? .max) <= 1_280_000, "only the damaged files: \(r)")
        #expect(
            (r["bytesWritten"] as? Int ?? .max) <= 1_280_000, "the extra disk is the damaged files, not the tree: \(r)")
        let previous = r["previous"] as? String ?? ""
        #expect(previous.contains("node.pre-restore-"))
        let kept = Set(FileManager.default.enumerator(atPath: previous)?.allObjects as? [String] ?? [])
        // ... and the marker that says what it is (RestoreLeftoverMarkerTests).
        let expectedKept: Set<String> = [
            "blocks", "blocks/text.log", "extra", "extra/stray.bin", "hardlink.log",
            ".chainvault-previous"
        ]
        #expect(kept == expectedKept, "only what was replaced or removed: \(kept)")
        #expect(!FileManager.default.fileExists(atPath: w.path("node/.chainvault-restore")))
        // Nothing differs: nothing is written, nothing kept.
        let again = try w.ok(["restore", "latest", "--target", w.path("node"), "--json"]).json
        #expect(again["previous"] == nil || again["previous"] is NSNull)
        #expect(again["entriesReplaced"] as? Int == 0 && again["bytesFetched"] as? Int == 0)
    }

    @Test func theQuickCheckTrustsSizeAndMtimeAndVerifyAllFindsBitRot() throws {
        let w = try Workspace()
        let (src, _) = try InPlaceFixture.restoredNode(w)
        try Self.rot(w.path("node/blocks/blk00000.dat"), at: 1_000_000, keepMtime: true)
        let quick = try w.ok(["restore", "latest", "--target", w.path("node"), "--json"]).json
        #expect(quick["filesHashed"] as? Int == 0 && quick["entriesReplaced"] as? Int == 0)
        #expect(try treeDifferences(src, w.path("node")) == ["blocks/blk00000.dat: content"])
        let full = try w.ok(["restore", "latest", "--target", w.path("node"), "--verify-all", "--json"]).json
        #expect(full["entriesReplaced"] as? Int == 1, "\(full)")
        #expect(try treeDifferences(src, w.path("node")) == [])
    }

    /// A fifo where the snapshot has a file, and one the snapshot does not have: neither is opened
    /// (a restore that opened one would wait for a writer for ever). The limit catches that hang;
    /// it is generous because a loaded CI machine once needed over a minute for the three restores.
    @Test(.timeLimit(.minutes(5))) func fifosInTheTargetAreNeverOpened() throws {
        let w = try Workspace()
        let (src, _) = try InPlaceFixture.restoredNode(w)
        for mode in [[], ["--delta", "--verify-all"], ["--force"]] {
            try FileManager.default.removeItem(atPath: w.path("node/blocks/text.log"))
            #expect(mkfifo(w.path("node/blocks/text.log"), 0o644) == 0)
            #expect(mkfifo(w.path("node/stray.fifo"), 0o644) == 0)
            let r = try Self.bounded(w, ["restore", "latest", "--target", w.path("node")] + mode, seconds: 30)
            #expect(r == 0, "restore \(mode) exits 0")
            #expect(try treeDifferences(src, w.path("node")) == [])
        }
    }

    @Test func aSymlinkedTargetKeepsItsLinkAndItsDirectoryIsRestored() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        try FileManager.default.createDirectory(atPath: w.path("data/bitcoind"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: w.path("bitcoind"), withDestinationPath: w.path("data/bitcoind"))
        for extra in [[], ["--force"]] {
            try w.write("data/bitcoind/blocks/text.log", [1])
            try w.ok(["restore", "latest", "--target", w.path("bitcoind")] + extra)
            #expect(
                (try? FileManager.default.destinationOfSymbolicLink(atPath: w.path("bitcoind")))
                    == w.path("data/bitcoind"),
                "the link stays \(extra)")
            #expect(try treeDifferences(src, w.path("data/bitcoind")) == [])
        }
    }

    @Test func targetsThatWouldOverwriteWhatChainvaultNeedsAreRefused() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        for (target, says) in [
            ("/", "is the root directory"), (src + "/blocks", "the source of the snapshot"),
            (w.repo, "which chainvault itself uses"), (w.repo + "/sub", "which chainvault itself uses"),
            (w.root, "which chainvault itself uses")
        ] {
            let r = try w.run(["restore", "latest", "--target", target])
            #expect(r.code == 20, "\(target): \(r.stderr)")
            #expect(r.stderr.contains(says) && r.stderr.contains("HINT:"), "\(target): \(r.stderr)")
        }
        #expect(try treeDifferences(src, src) == [] && FileManager.default.fileExists(atPath: src + "/blocks/text.log"))
        try w.ok(["verify"])
    }

    /// A file restored with --path is staged inside a marked staging directory: killed before its
    /// sync, the next restore removes the leftover instead of keeping it as previous content.
    @Test func aKilledSingleFileRestoreLeavesOnlyAMarkedLeftover() throws {
        let w = try Workspace()
        let (src, _) = try InPlaceFixture.restoredNode(w)
        try w.write("node/blocks/text.log", [1, 2])
        let args = ["restore", "latest", "--target", w.path("node"), "--path", "blocks/text.log", "--delta"]
        try InPlaceFixture.killed(w, args, at: "restore-staged-written")
        let staged = try FileManager.default.contentsOfDirectory(atPath: w.path("node/blocks")).filter {
            $0.contains("staging")
        }
        #expect(staged.count == 1)
        #expect(
            FileManager.default.fileExists(atPath: w.path("node/blocks/\(staged.first ?? "-")/.chainvault-incomplete")))
        let next = try w.ok(args)
        #expect(next.stderr.contains("left by an interrupted restore"), "\(next.stderr)")
        let left = try FileManager.default.contentsOfDirectory(atPath: w.path("node/blocks"))
        #expect(
            left.filter { $0.contains("staging") || $0.contains("pre-restore") }.count == 1,
            "only this run's previous: \(left)")
        #expect(
            FileManager.default.contents(atPath: w.path("node/blocks/text.log"))
                == FileManager.default.contents(atPath: src + "/blocks/text.log"))
    }

    // MARK: helpers shared with the interruption tests

    static func startStopping(_ w: Workspace, _ args: [String], at point: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Workspace.binary)
        p.arguments = args
        p.environment = w.environment.merging(["CHAINVAULT_TEST_STOP_AT": point]) { $1 }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Waits (up to two minutes) until the process reports itself stopped at its failpoint.
    static func waitStopped(_ p: Process) throws {
        let deadline = Date() + 120
        while Date() < deadline {
            let stat = (try? String(contentsOfFile: "/proc/\(p.processIdentifier)/stat", encoding: .utf8)) ?? ""
            if let close = stat.lastIndex(of: ")"), stat[stat.index(close, offsetBy: 2)] == "T" { return }
            if !p.isRunning { throw VaultError(.failure, "the restore ended before its failpoint") }
            usleep(10_000)
        }
        throw VaultError(.failure, "the restore did not reach its failpoint within 120 s")
    }

    /// Exit status, or a failure (and a kill) when the run takes longer than `seconds`.
    static func bounded(_ w: Workspace, _ args: [String], seconds: Double) throws -> Int32 {
        let p = try w.start(args)
        let deadline = Date() + seconds
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            Issue.record("'\(args.joined(separator: " "))' still ran after \(seconds) s")
            return -1
        }
        return p.terminationStatus
    }
}

/// A live file the restore must read but cannot (EACCES from `openat`, through an LD_PRELOAD
/// shim, since root reads a mode-0000 file): reported by name, and nothing is changed.
struct InPlaceUnreadableTests {
    static let shim = """
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <errno.h>
        #include <stdarg.h>
        #include <string.h>
        #include <fcntl.h>
        int openat(int dirfd, const char *path, int flags, ...) {
            static int (*real)(int, const char *, int, ...);
            if (!real) real = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat");
            va_list ap; va_start(ap, flags); int mode = va_arg(ap, int); va_end(ap);
            if (strstr(path, "locked.dat")) { errno = EACCES; return -1; }
            return real(dirfd, path, flags, mode);
        }
        int openat64(int dirfd, const char *path, int flags, ...) {
            va_list ap; va_start(ap, flags); int mode = va_arg(ap, int); va_end(ap);
            return openat(dirfd, path, flags, mode);
        }
        """

    @Test func anUnreadableLiveFileIsReportedAndNothingChanges() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.write("src/blocks/locked.dat", SecureRandom.bytes(100_000))
        try w.ok(["init"])
        try w.ok(["backup", src])
        try w.ok(["restore", "latest", "--target", w.path("node")])
        try w.write("node/blocks/locked.dat", SecureRandom.bytes(100_000))  // same size, new mtime: must be read
        try w.write("node/blocks/text.log", [1])
        try w.write("eacces.c", Array(Self.shim.utf8))
        let so = w.path("eacces.so")
        let cc = try w.run(["-shared", "-fPIC", "-o", so, w.path("eacces.c"), "-ldl"], executable: "/usr/bin/cc")
        try #require(cc.code == 0, "cc: \(cc.stderr)")
        let before = treeFingerprint(w.path("node"))
        let r = try w.run(["restore", "latest", "--target", w.path("node")], env: ["LD_PRELOAD": so])
        #expect(r.code == 16, "\(r.stderr)")
        #expect(
            r.stderr.contains("cannot read") && r.stderr.contains("locked.dat")
                && r.stderr.contains("nothing was changed"),
            "\(r.stderr)")
        #expect(treeFingerprint(w.path("node")) == before)
        #expect(!FileManager.default.fileExists(atPath: w.path("node/.chainvault-restore")))
    }
}
