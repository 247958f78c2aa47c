import Foundation
import Glibc
import Testing
import VaultCore
import VaultRepository

/// What the source had is what the restore gives: holes and preallocated space, extended
/// attributes and ACLs, fifos; sockets are skipped by design (issue 10).
struct FidelityTests {
    /// Allocated bytes as `du` counts them.
    static func allocated(_ path: String) -> Int {
        var st = stat()
        return lstat(path, &st) == 0 ? Int(st.st_blocks) * 512 : -1
    }

    static func create(_ path: String, size: Int, data: [(offset: Int, bytes: [UInt8])], preallocate: Int = 0) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        #expect(fd >= 0)
        defer { close(fd) }
        for (offset, bytes) in data { #expect(pwrite(fd, bytes, bytes.count, off_t(offset)) == bytes.count) }
        if preallocate > 0 { #expect(posix_fallocate(fd, 0, off_t(preallocate)) == 0) }
        #expect(ftruncate(fd, off_t(size)) == 0)
        fsync(fd)
    }

    /// Same bytes, and allocation within 256 KiB + 2 % of the source's (file system metadata blocks vary).
    static func expectSameFile(_ a: String, _ b: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(
            FileManager.default.contents(atPath: a) == FileManager.default.contents(atPath: b), "\(b): content",
            sourceLocation: sourceLocation)
        let x = allocated(a), y = allocated(b)
        #expect(
            abs(x - y) <= (256 << 10) + x / 50, "\(b): \(y) bytes allocated, the source has \(x)",
            sourceLocation: sourceLocation)
    }

    @Test func sparseAndPreallocatedFilesRestoreWithTheSameBytesAndAllocation() throws {
        let w = try Workspace()
        let src = w.path("src")
        try FileManager.default.createDirectory(atPath: src + "/blocks", withIntermediateDirectories: true)
        // A database with holes: 200 MiB, 980 KiB allocated, ending in a hole (size set by ftruncate).
        try Self.create(
            src + "/holes.db", size: 200 << 20,
            data: [(0, SecureRandom.bytes(490 << 10)), (100 << 20, SecureRandom.bytes(490 << 10))])
        // bitcoind preallocates blk files in 16 MiB steps (posix_fallocate), then appends blocks.
        try Self.create(
            src + "/blocks/blk00000.dat", size: 16 << 20, data: [(0, SecureRandom.bytes((1 << 20) + 7_000))],
            preallocate: 16 << 20)
        // Zeros that were written: allocated, and must stay allocated.
        try Self.create(
            src + "/zeros.bin", size: 9 << 20,
            data: [
                (0, SecureRandom.bytes(512 << 10)), (512 << 10, [UInt8](repeating: 0, count: 8 << 20)),
                ((8 << 20) + (512 << 10), SecureRandom.bytes(512 << 10))
            ])
        try w.ok(["init"])
        let stats = try w.ok(["backup", src, "--json"]).json["stats"] as? [String: Any] ?? [:]
        // 200 + 16 + 9 MiB in the source; the holes are neither read nor stored. The blk file has
        // all its blocks, so it is read whole (its preallocated tail comes back as zero runs).
        #expect((stats["bytesRead"] as? Int ?? .max) < 32 << 20, "bytesRead \(stats["bytesRead"] ?? "-")")
        try w.ok(["restore", "latest", "--target", w.path("out")])
        for f in ["holes.db", "blocks/blk00000.dat", "zeros.bin"] {
            Self.expectSameFile(src + "/" + f, w.path("out/" + f))
        }
        #expect(Self.allocated(w.path("out/holes.db")) < 2 << 20)

        // A delta restore over a changed copy gives the same result.
        try Self.create(w.path("out/holes.db"), size: 150 << 20, data: [(0, SecureRandom.bytes(4096))])
        try w.ok(["restore", "latest", "--target", w.path("out"), "--delta"])
        for f in ["holes.db", "blocks/blk00000.dat", "zeros.bin"] {
            Self.expectSameFile(src + "/" + f, w.path("out/" + f))
        }
        // An unchanged second backup reuses the recorded holes.
        try w.ok(["backup", src])
        try w.ok(["restore", "latest", "--target", w.path("again")])
        Self.expectSameFile(src + "/holes.db", w.path("again/holes.db"))
    }

    static func xattrs(_ path: String) -> [String: [UInt8]] {
        var names = [CChar](repeating: 0, count: 65_536)
        let n = Posix.llistxattr(path, &names, names.count)
        guard n > 0 else { return [:] }
        var out: [String: [UInt8]] = [:]
        for raw in names[0..<n].split(separator: 0) {
            let name = String(decoding: raw.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            var value = [UInt8](repeating: 0, count: 65_536)
            let m = Posix.lgetxattr(path, name, &value, value.count)
            out[name] = m >= 0 ? Array(value[0..<m]) : nil
        }
        return out
    }

    static func set(_ path: String, _ name: String, _ value: [UInt8]) {
        #expect(
            Posix.lsetxattr(path, name, value, value.count) == 0,
            "\(name) on \(path): \(String(cString: strerror(errno)))")
    }

    /// A POSIX ACL as the kernel stores it (acl_ea.h): version 2, then (tag u16, perm u16, id u32) entries.
    static func acl(_ entries: [(tag: UInt16, perm: UInt16, id: UInt32)]) -> [UInt8] {
        var w = ByteWriter()
        w.u32(2)
        for e in entries { w.u16(e.tag); w.u16(e.perm); w.u32(e.id) }
        return w.bytes
    }

    @Test func extendedAttributesAndACLsAreRestored() throws {
        let w = try Workspace()
        try w.write("src/data/chainstate.ldb", Array("state".utf8))
        try w.write("src/keys/node.key", Array("key".utf8), mode: 0o640)
        let file = w.path("src/data/chainstate.ldb"), dir = w.path("src/keys"), key = w.path("src/keys/node.key")
        try FileManager.default.createSymbolicLink(atPath: w.path("src/link"), withDestinationPath: "data")
        let any: UInt32 = 0xFFFF_FFFF
        let access = Self.acl([(1, 6, any), (2, 4, 1000), (4, 4, any), (0x10, 4, any), (0x20, 0, any)])
        Self.set(file, "user.checksum", Array("sha256:\u{0}\u{FF}".utf8) + [0, 255, 1])
        Self.set(file, "trusted.overlay", Array("y".utf8))
        Self.set(file, "security.ima", [3, 2, 1])
        Self.set(key, "system.posix_acl_access", access)
        Self.set(dir, "system.posix_acl_default", access)
        Self.set(dir, "user.empty", [])
        Self.set(w.path("src/link"), "trusted.link", Array("l".utf8))
        let paths = ["data/chainstate.ldb", "keys", "keys/node.key", "link"]
        let before = paths.map { Self.xattrs(w.path("src/" + $0)) }
        #expect(before.allSatisfy { !$0.isEmpty })
        try w.ok(["init"])
        try w.ok(["backup", w.path("src")])
        let r = try w.ok(["restore", "latest", "--target", w.path("out")])
        #expect(!r.stderr.contains("warning"), "\(r.stderr)")
        #expect(paths.map { Self.xattrs(w.path("out/" + $0)) } == before)
        var st = stat()
        lstat(w.path("out/keys/node.key"), &st)
        #expect(st.st_mode & 0o7777 == 0o640, "the ACL mask and the mode agree")
    }

    /// The source directory's own attributes (a default ACL on the node's data directory) are
    /// backed up too: no tree entry holds them, the snapshot's root does.
    @Test func theSourceDirectorysOwnAttributesAndACLsAreRestored() throws {
        let w = try Workspace()
        try w.write("src/blocks/blk00000.dat", Array("blocks".utf8))
        let any: UInt32 = 0xFFFF_FFFF
        let access = Self.acl([(1, 7, any), (2, 5, 1000), (4, 5, any), (0x10, 5, any), (0x20, 0, any)])
        Self.set(w.path("src"), "user.node", Array("bitcoind".utf8) + [0, 255])
        Self.set(w.path("src"), "system.posix_acl_default", access)
        let before = Self.xattrs(w.path("src"))
        #expect(before.count == 2, "\(before)")
        try w.ok(["init"])
        try w.ok(["backup", w.path("src")])
        let r = try w.ok(["restore", "latest", "--target", w.path("out")])
        #expect(!r.stderr.contains("warning"), "\(r.stderr)")
        #expect(Self.xattrs(w.path("out")) == before)
    }

    /// A restore by a user who may not set some namespaces (trusted.* needs CAP_SYS_ADMIN) says so
    /// once per namespace, restores everything else, and succeeds.
    @Test func aRestoreThatCannotSetANamespaceWarnsOnceAndGoesOn() throws {
        let w = try Workspace()
        for f in ["a", "b"] {
            try w.write("src/" + f, Array(f.utf8))
            Self.set(w.path("src/" + f), "trusted.origin", Array("x".utf8))
            Self.set(w.path("src/" + f), "user.kept", Array(f.utf8))
        }
        try w.ok(["init"])
        try w.ok(["backup", w.path("src")])
        // The workspace becomes nobody's, so nobody can read the key and the repository.
        #expect(try w.run(["-R", "65534:65534", w.root], executable: "/bin/chown").code == 0)
        let r = try w.run(
            [
                "--reuid=65534", "--regid=65534", "--clear-groups", Workspace.binary,
                "restore", "latest", "--target", w.path("out")
            ], executable: "/usr/bin/setpriv")
        #expect(r.code == 0, "\(r.stderr)")
        let lines = r.stderr.split(separator: "\n").filter { $0.contains("cannot set trusted.* extended attributes") }
        #expect(lines.count == 1, "\(r.stderr)")
        #expect(Self.xattrs(w.path("out/a")) == ["user.kept": Array("a".utf8)])
        #expect(Self.xattrs(w.path("out/b")) == ["user.kept": Array("b".utf8)])
    }

    /// Chunks that overlap a zero run cannot tile the file: refused with the file named, nothing written.
    @Test func aFileWhoseChunksOverlapItsZeroRunsIsRefused() throws {
        let w = try Workspace()
        try w.ok(["init"])
        // The crafted chunk "pwned" is 5 bytes at offset 0; a run at 2 would overwrite part of it.
        let node = Node(
            name: Array("ledger".utf8), kind: .file, size: 9, chunks: [SHA256.hash(Array("pwned".utf8))],
            zeroRuns: [ZeroRun(offset: 2, length: 4, allocated: false)])
        try CorruptionTests().craft(w, [node])
        let r = try w.run(["restore", "latest", "--target", w.path("out")])
        #expect(r.code == 14 && r.stderr.contains("ledger: its chunks overlap its zero runs"), "\(r.code) \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: w.path("out")))
    }

    @Test func fifosAreRestoredAndSocketsSkippedWithoutAnError() throws {
        let w = try Workspace()
        try w.write("node/data/blocks.dat", Array("blocks".utf8))
        let fifo = w.path("node/data/control.fifo")
        #expect(mkfifo(fifo, 0o620) == 0 && chmod(fifo, 0o620) == 0)
        var times = [
            timespec(tv_sec: 1_700_000_000, tv_nsec: 123_456_789), timespec(tv_sec: 1_700_000_000, tv_nsec: 123_456_789)
        ]
        #expect(utimensat(AT_FDCWD, fifo, &times, 0) == 0)
        // A node's IPC socket (geth.ipc): bound, so it exists in the file system.
        let socketPath = w.path("node/geth.ipc")
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { p in
            for (i, b) in socketPath.utf8.enumerated() { p[i] = b }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        #expect(bound == 0)
        try w.ok(["init"])
        let backup = try w.run(["backup", w.path("node"), "--json"])
        #expect(backup.code == 0, "\(backup.stderr)")
        #expect(backup.json["skippedSockets"] as? [String] == ["geth.ipc"], "\(backup.stdout)")
        let stats = backup.json["stats"] as? [String: Any] ?? [:]
        #expect((stats["skipped"] as? [String] ?? ["?"]).isEmpty)
        try w.ok(["restore", "latest", "--target", w.path("out")])
        var st = stat()
        #expect(lstat(w.path("out/data/control.fifo"), &st) == 0)
        #expect(st.st_mode & S_IFMT == S_IFIFO && st.st_mode & 0o7777 == 0o620, "\(String(st.st_mode, radix: 8))")
        #expect(st.st_mtim.tv_sec == 1_700_000_000 && st.st_mtim.tv_nsec == 123_456_789)
        #expect(lstat(w.path("out/geth.ipc"), &st) != 0, "a socket is never restored")
        #expect(try w.ok(["ls", "latest"]).stdout.contains("control.fifo"))
        #expect(try w.run(["verify"]).code == 0)
    }
}
