import Foundation
import Glibc
import Testing
import VaultCore

/// Faults of the source disk and the clock, through the real binary.
struct SourceAndClockFaultTests {
    /// An LD_PRELOAD shim: `read` and `pread` of a file whose path contains $EIO_FILE returns what lies before
    /// byte $EIO_AFTER, then EIO, as a failing disk does mid-file.
    static let shim = """
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <errno.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>
        static int matches(int fd) {
            const char *name = getenv("EIO_FILE");
            char link[64], path[4096];
            if (!name) return 0;
            snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
            ssize_t n = readlink(link, path, sizeof path - 1);
            if (n < 0) return 0;
            path[n] = 0;
            return strstr(path, name) != NULL;
        }
        ssize_t read(int fd, void *buf, size_t count) {
            static ssize_t (*real)(int, void *, size_t);
            if (!real) real = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
            if (matches(fd)) {
                off_t at = lseek(fd, 0, SEEK_CUR), limit = atol(getenv("EIO_AFTER"));
                if (at >= limit) { errno = EIO; return -1; }
                if (at + (off_t)count > limit) count = (size_t)(limit - at);
            }
            return real(fd, buf, count);
        }
        static ssize_t cut(int fd, void *buf, size_t count, off_t at, ssize_t (*real)(int, void *, size_t, off_t)) {
            if (matches(fd)) {
                off_t limit = atol(getenv("EIO_AFTER"));
                if (at >= limit) { errno = EIO; return -1; }
                if (at + (off_t)count > limit) count = (size_t)(limit - at);
            }
            return real(fd, buf, count, at);
        }
        ssize_t pread(int fd, void *buf, size_t count, off_t at) {
            static ssize_t (*real)(int, void *, size_t, off_t);
            if (!real) real = (ssize_t (*)(int, void *, size_t, off_t))dlsym(RTLD_NEXT, "pread");
            return cut(fd, buf, count, at, real);
        }
        ssize_t pread64(int fd, void *buf, size_t count, off_t at) {
            static ssize_t (*real)(int, void *, size_t, off_t);
            if (!real) real = (ssize_t (*)(int, void *, size_t, off_t))dlsym(RTLD_NEXT, "pread64");
            return cut(fd, buf, count, at, real);
        }
        """

    func buildShim(_ w: Workspace) throws -> String {
        try w.write("eio.c", Array(Self.shim.utf8))
        let out = w.path("eio.so")
        let r = try w.run(["-shared", "-fPIC", "-o", out, w.path("eio.c"), "-ldl"], executable: "/usr/bin/cc")
        #expect(r.code == 0, "cc: \(r.stderr)")
        return out
    }

    @Test func aFileCutShortByEIOMakesAPartialSnapshotThatIsNeverLatest() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        let complete = try w.ok(["backup", src, "--json"]).json["snapshot"] as? String ?? ""
        let whole = try #require(FileManager.default.contents(atPath: src + "/blocks/blk00000.dat"))
        // Changed, so the next backup must read it (an unchanged file reuses its parent's chunks).
        try w.write("src/blocks/blk00000.dat", SecureRandom.bytes(3_000_000))
        let shim = try buildShim(w)
        let cut = try w.run(
            ["backup", src, "--json"], env: ["LD_PRELOAD": shim, "EIO_FILE": "blk00000.dat", "EIO_AFTER": "1000000"])
        #expect(cut.code == 3, "exit 3 as before: \(cut.stderr)")
        #expect(
            cut.json["partial"] as? Bool == true && (cut.json["incomplete"] as? [String]) == ["blocks/blk00000.dat"],
            "\(cut.stdout)")
        let partial = cut.json["snapshot"] as? String ?? ""

        let listed = try w.ok(["snapshots"])
        #expect(
            listed.stdout.split(separator: "\n").contains {
                $0.hasPrefix(partial.prefix(8)) && $0.contains("(partial")
            },
            "\(listed.stdout)")
        // latest is the last complete snapshot; the partial one restores by id, with a warning.
        try w.ok(["restore", "latest", "--target", w.path("latest")])
        #expect(
            FileManager.default.contents(atPath: w.path("latest/blocks/blk00000.dat")) == whole,
            "latest is the complete snapshot, with the whole file")
        let byID = try w.ok(["restore", partial, "--target", w.path("partial")])
        #expect(byID.stderr.contains("is partial") && byID.stderr.contains("blocks/blk00000.dat"), "\(byID.stderr)")
        let ls = try w.ok(["ls", partial])
        #expect(
            ls.stdout.split(separator: "\n").contains { $0.hasSuffix("/blocks/blk00000.dat  (incomplete)") },
            "\(ls.stdout)")
        // Retention does not count the partial snapshot: the last complete one stays.
        try w.ok(["forget", "--keep-last", "1", "--prune"])
        let left = try w.ok(["snapshots"]).stdout
        #expect(left.contains(complete.prefix(8)) && left.contains(partial.prefix(8)), "\(left)")
        try w.ok(["verify", "--read-data"])
    }

    @Test func aHostWithAFastClockDoesNotMakeOldDataLatest() throws {
        // The faketime wrapper (Debian's faketime); LD_PRELOAD of libfaketime alone loses argv here.
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/faketime"), "apt-get install faketime")
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        let old = try w.run(
            ["-f", "+10m", Workspace.binary, "backup", src, "--host", "fast", "--json"],
            env: ["FAKETIME_DONT_FAKE_MONOTONIC": "1"], executable: "/usr/bin/faketime")
        #expect(old.code == 0, "\(old.stderr)")
        try w.write("src/blocks/blk00000.dat", Array(repeating: 7, count: 100_000))
        let new = try w.ok(["backup", src, "--host", "correct"])
        #expect(new.stderr.contains("ahead of this host's clock"), "\(new.stderr)")
        let listed = try w.ok(["snapshots"])
        #expect(listed.stderr.contains("ahead of the store's clock"), "\(listed.stderr)")
        try w.ok(["restore", "latest", "--target", w.path("out")])
        #expect(try treeDifferences(src, w.path("out")).isEmpty, "latest is the newer data")
    }
}
