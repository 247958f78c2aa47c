import Foundation
import Glibc
import Testing
import VaultCore
import VaultRepository
import VaultStorage

/// Issue 10: names and link targets are bytes, walks are iterative with bounded descriptors, and
/// hardlinks restore to the right file.
struct NamesAndDepthTests {
    static let invalid: [UInt8] = Array("bad".utf8) + [0xff] + Array("name".utf8)
    static let repairedTwinA: [UInt8] = Array("x".utf8) + [0xff]
    static let repairedTwinB: [UInt8] = Array("x".utf8) + [0xef, 0xbf, 0xbd]  // "x\u{FFFD}"
    static let oddTarget: [UInt8] = Array("target-".utf8) + [0xfe, 0xff]

    /// Runs the binary with at most 1,024 open descriptors, the usual default limit.
    func limited(_ w: Workspace, _ args: [String]) throws -> Workspace.Run {
        try w.run(["-c", "ulimit -n 1024 && exec \"$0\" \"$@\"", Workspace.binary] + args, executable: "/bin/bash")
    }

    @Test func namesAndLinkTargetsThatAreNotUTF8AreBackedUpAndRestoredAsTheirBytes() throws {
        let w = try Workspace()
        try w.ok(["init"])
        try w.write("src/plain", Array("plain".utf8))
        let src = ByteTree.open(w.path("src"))
        defer { close(src) }
        ByteTree.write(src, Self.invalid, Array("invalid name".utf8))
        ByteTree.write(src, Self.repairedTwinA, Array("twin a".utf8))
        ByteTree.write(src, Self.repairedTwinB, Array("twin b".utf8))
        ByteTree.symlink(Self.oddTarget, src, Array("link".utf8))

        let backup = try w.run(["backup", w.path("src")])
        #expect(backup.code == 0, "\(backup.stdout)\n\(backup.stderr)")
        let ls = try w.ok(["ls", "latest"])
        #expect(ls.stdout.contains("/bad\\xffname"), "invalid bytes are printed escaped:\n\(ls.stdout)")
        #expect(
            ls.stdout.contains("/x\\xff") && ls.stdout.contains("/x\u{FFFD}"), "two distinct entries:\n\(ls.stdout)")
        #expect(ls.stdout.contains("-> target-\\xfe\\xff"))
        let one = try w.ok(["ls", "latest", "bad\\xffname"])
        #expect(one.stdout.contains("bad\\xffname") && !one.stdout.contains("plain"), "ls takes a name as it prints it")
        #expect(try w.run(["verify", "--read-data"]).code == 0)

        try w.ok(["restore", "latest", "--target", w.path("out")])
        let out = ByteTree.open(w.path("out"))
        defer { close(out) }
        #expect(ByteTree.names(out) == ByteTree.names(src), "the restored names are the source's bytes")
        #expect(ByteTree.read(out, Self.invalid) == Array("invalid name".utf8))
        #expect(ByteTree.read(out, Self.repairedTwinA) == Array("twin a".utf8))
        #expect(ByteTree.read(out, Self.repairedTwinB) == Array("twin b".utf8))
        #expect(ByteTree.readlink(out, Array("link".utf8)) == Self.oddTarget, "the link target is restored byte-exact")

        // A name that is not UTF-8 cannot be part of --path's String destination: refused clearly.
        let sub = try w.run(["restore", "latest", "--target", w.path("one"), "--path", "bad\\xffname"])
        #expect(sub.code == ErrorCode.usage.rawValue && sub.stderr.contains("not valid UTF-8"), "\(sub.stderr)")
        #expect(!FileManager.default.fileExists(atPath: w.path("one/bad\\xffname")))
    }

    /// Flips a byte inside the sealed blob `id`, in its pack file.
    func damage(_ w: Workspace, blob id: BlobID) throws {
        var key = Array(FileManager.default.contents(atPath: w.key)!)
        let repo = try Repository.open(LocalBackend(path: w.repo), credential: .keyFile(SecretBytes(consuming: &key)))
        try repo.loadIndex()
        let location = try #require(repo.index.lookup(id))
        let packs = FileManager.default.enumerator(atPath: w.repo + "/data")?.allObjects as? [String] ?? []
        let rel = try #require(packs.first { $0.hasSuffix(location.pack.hex) })
        let fd = Glibc.open(w.repo + "/data/" + rel, O_RDWR)
        defer { close(fd) }
        var byte: UInt8 = 0
        let offset = off_t(location.entry.offset) + 20
        _ = pread(fd, &byte, 1, offset)
        byte ^= 0x5a
        _ = pwrite(fd, &byte, 1, offset)
    }

    func snapshots(_ w: Workspace) throws -> [SnapshotRecord] {
        var key = Array(FileManager.default.contents(atPath: w.key)!)
        let repo = try Repository.open(LocalBackend(path: w.repo), credential: .keyFile(SecretBytes(consuming: &key)))
        return try repo.listSnapshots()
    }

    @Test func aTreeThatCannotBeLoadedBlocksNeitherLaterBackupsNorForgettingItsSnapshot() throws {
        let w = try Workspace()
        try w.ok(["init"])
        try w.write("src/a", Array("first".utf8))
        try w.write("src/dir/b", Array("second".utf8))
        try w.ok(["backup", w.path("src")])
        let damaged = try #require(try snapshots(w).first)
        try damage(w, blob: damaged.snapshot.tree)

        try w.write("src/c", Array("third".utf8))
        let next = try w.run(["backup", w.path("src")])
        #expect(next.code == 0, "the damaged parent tree falls back to reading everything:\n\(next.stderr)")
        #expect(next.stderr.contains("cannot be read") && next.stderr.contains("read again"), "\(next.stderr)")
        try w.ok(["restore", "latest", "--target", w.path("out")])
        #expect(try treeDifferences(w.path("src"), w.path("out")).isEmpty)

        // Both kept: prune must not guess what the damaged tree references.
        let kept = try w.run(["forget", "--keep-last", "2", "--prune"])
        #expect(
            kept.code == ErrorCode.corrupt.rawValue && kept.stderr.contains("kept snapshot \(damaged.shortID)"),
            "\(kept.stderr)")
        // Forgetting the damaged snapshot is not blocked by its own tree.
        try w.ok(["forget", damaged.id.hex, "--prune"])
        #expect(try w.run(["verify", "--read-data"]).code == 0)
        try w.ok(["restore", "latest", "--target", w.path("again")])
        #expect(try treeDifferences(w.path("src"), w.path("again")).isEmpty)
    }

    /// `find`'s view of a tree (GNU find walks any depth): depth, type, mode, size, mtime and name
    /// of every entry (depth rather than the whole path: 10,000 paths of up to 20,000 bytes are
    /// 100 MB of text).
    func listing(_ root: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/find")
        p.arguments = [root, "-mindepth", "1", "-printf", "%d %y %m %s %T@ %f\n"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").sorted().joined(separator: "\n")
    }

    @Test func aTenThousandDeepTreeBacksUpVerifiesAndRestoresUnderTheUsualDescriptorLimit() throws {
        let w = try Workspace()
        try w.ok(["init"])
        // Source and target on tmpfs when there is one: ext4 here takes ~25 s to delete this chain
        // (rm -rf as well), tmpfs 0.1 s. The restore stages beside its target, so both are there.
        var base = w.root
        if FileManager.default.isWritableFile(atPath: "/dev/shm") {
            var template = Array("/dev/shm/cv-deep-XXXXXX".utf8CString)
            if let made = mkdtemp(&template) { base = String(cString: made) }
        }
        defer { if base != w.root { try? Posix.removeTree(base) } }
        try FileManager.default.createDirectory(atPath: base + "/src", withIntermediateDirectories: true)
        let root = ByteTree.open(base + "/src")
        defer { close(root) }
        let chain = [[UInt8]](repeating: Array("d".utf8), count: 10_000)
        let middle = ByteTree.mkdirs(root, Array(chain[0..<5_000]))
        ByteTree.write(middle, Array("half".utf8), Array("at depth 5000".utf8))
        close(middle)
        let bottom = ByteTree.mkdirs(root, chain)
        ByteTree.write(bottom, Array("leaf".utf8), Array("at depth 10000".utf8))
        ByteTree.symlink(Array("leaf".utf8), bottom, Array("link".utf8))
        close(bottom)

        let backup = try limited(w, ["backup", base + "/src"])
        #expect(backup.code == 0, "\(backup.stderr)")
        let verify = try limited(w, ["verify", "--read-data"])
        #expect(verify.code == 0, "\(verify.stdout)\n\(verify.stderr)")
        let restore = try limited(w, ["restore", "latest", "--target", base + "/out"])
        #expect(restore.code == 0, "\(restore.stderr)")

        let out = ByteTree.open(base + "/out")
        defer { close(out) }
        let restoredBottom = try #require(ByteTree.openChain(out, chain))
        defer { close(restoredBottom) }
        #expect(ByteTree.read(restoredBottom, Array("leaf".utf8)) == Array("at depth 10000".utf8))
        #expect(ByteTree.readlink(restoredBottom, Array("link".utf8)) == Array("leaf".utf8))
        let restoredMiddle = try #require(ByteTree.openChain(out, Array(chain[0..<5_000])))
        defer { close(restoredMiddle) }
        #expect(ByteTree.read(restoredMiddle, Array("half".utf8)) == Array("at depth 5000".utf8))
        #expect(try listing(base + "/src") == listing(base + "/out"), "the same tree afterwards")

        // removeTree is iterative with bounded descriptors too.
        for tree in ["src", "out"] {
            try Posix.removeTree(base + "/" + tree)
            #expect(!FileManager.default.fileExists(atPath: base + "/" + tree))
        }
    }

    @Test func hardlinksDeeperThanPathMaxRestoreToTheRightFile() throws {
        let w = try Workspace()
        try w.ok(["init"])
        try FileManager.default.createDirectory(atPath: w.path("src"), withIntermediateDirectories: true)
        let root = ByteTree.open(w.path("src"))
        defer { close(root) }
        // 22 levels of 200-byte names: every file below is more than 4,400 bytes deep (past PATH_MAX).
        let levels = [[UInt8]](repeating: [UInt8](repeating: UInt8(ascii: "n"), count: 200), count: 22)
        let a = ByteTree.mkdirs(root, [Array("A".utf8)] + levels)
        let c = ByteTree.mkdirs(root, [Array("C".utf8)] + levels)
        defer { close(a); close(c) }
        ByteTree.write(a, Array("x".utf8), Array("linked content".utf8))
        ByteTree.write(c, Array("x".utf8), Array("a third file".utf8))
        #expect(linkat(a, "x", c, "y", 0) == 0, "a hardlink of A/…/x as C/…/y")

        try w.ok(["backup", w.path("src")])
        try w.ok(["restore", "latest", "--target", w.path("out")])
        let out = ByteTree.open(w.path("out"))
        defer { close(out) }
        let ra = try #require(ByteTree.openChain(out, [Array("A".utf8)] + levels))
        let rc = try #require(ByteTree.openChain(out, [Array("C".utf8)] + levels))
        defer { close(ra); close(rc) }
        let x = try #require(ByteTree.lstat(ra, Array("x".utf8)))
        let y = try #require(ByteTree.lstat(rc, Array("y".utf8)))
        let third = try #require(ByteTree.lstat(rc, Array("x".utf8)))
        #expect(x.st_ino == y.st_ino && x.st_nlink == 2, "the two names share one inode again")
        #expect(third.st_ino != x.st_ino && third.st_nlink == 1)
        #expect(ByteTree.read(rc, Array("y".utf8)) == Array("linked content".utf8))
        #expect(ByteTree.read(rc, Array("x".utf8)) == Array("a third file".utf8))
        #expect(try w.run(["verify", "--read-data"]).code == 0)
    }

    /// Two names of one inode whose recorded content differs (the file changed between the two
    /// reads): each name gets its own content, checked chunk by chunk, never the other's bytes.
    @Test func namesOfOneInodeWithDifferentRecordedContentAreNotLinked() throws {
        let w = try Workspace()
        try w.ok(["init"])
        let pwned = SHA256.hash(Array("pwned".utf8))
        let first = Node(name: Array("a".utf8), kind: .file, inode: 9, device: 1, links: 2, size: 5, chunks: [pwned])
        let second = Node(
            name: Array("b".utf8), kind: .file, inode: 9, device: 1, links: 2, size: 10, chunks: [pwned, pwned])
        try CorruptionTests().craft(w, [first, second])
        try w.ok(["restore", "latest", "--target", w.path("out")])
        #expect(FileManager.default.contents(atPath: w.path("out/a")) == Data("pwned".utf8))
        #expect(FileManager.default.contents(atPath: w.path("out/b")) == Data("pwnedpwned".utf8))
        var a = stat(), b = stat()
        lstat(w.path("out/a"), &a)
        lstat(w.path("out/b"), &b)
        #expect(a.st_ino != b.st_ino)
    }
}
