import Foundation
import Glibc
import Testing
import VaultCore
@_spi(Testing) import VaultRepository
import VaultStorage

struct CorruptionTests {
    func largestPack(_ w: Workspace) throws -> String {
        var best = ("", 0)
        for sub in try FileManager.default.contentsOfDirectory(atPath: w.repo + "/data") where !sub.hasPrefix(".") {
            for name in try FileManager.default.contentsOfDirectory(atPath: w.repo + "/data/" + sub) {
                let size =
                    (try FileManager.default.attributesOfItem(atPath: w.repo + "/data/\(sub)/\(name)")[.size] as? Int)
                    ?? 0
                if size > best.1 { best = (w.repo + "/data/\(sub)/\(name)", size) }
            }
        }
        return best.0
    }

    @Test func oneFlippedByteInAPackIsDetectedAndNamesTheAffectedFile() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        try w.ok(["verify", "--read-data"])
        let pack = try largestPack(w)
        let fd = open(pack, O_RDWR)
        var byte: UInt8 = 0
        pread(fd, &byte, 1, 1000)
        byte ^= 0x01
        pwrite(fd, &byte, 1, 1000)
        close(fd)
        let structure = try w.run(["verify"])
        #expect(structure.code == 0, "a flipped data byte is invisible to the structure check")
        let r = try w.run(["verify", "--read-data"])
        #expect(r.code == 14)
        #expect(r.stderr.contains("does not match its name"))
        #expect(r.stderr.contains("/blocks/blk00000.dat"), "names the affected file:\n\(r.stderr)")
        let restore = try w.run(["restore", "latest", "--target", w.path("out")])
        #expect(restore.code == 14, "restore refuses to write wrong bytes")
        #expect(!FileManager.default.fileExists(atPath: w.path("out")), "and leaves no half-restored target")
    }

    @Test func aMissingPackIsReportedWithTheAffectedFiles() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        try FileManager.default.removeItem(atPath: try largestPack(w))
        let r = try w.run(["verify"])
        #expect(r.code == 14)
        #expect(r.stderr.contains("missing from storage") && r.stderr.contains("blk00000.dat"))
    }

    @Test func anAlteredSnapshotOrIndexFileIsReported() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        let snap = try FileManager.default.contentsOfDirectory(atPath: w.repo + "/snapshots")[0]
        var bytes = Array(FileManager.default.contents(atPath: w.repo + "/snapshots/" + snap)!)
        bytes[bytes.count / 2] ^= 0x40
        chmod(w.repo + "/snapshots/" + snap, 0o600)
        _ = FileManager.default.createFile(atPath: w.repo + "/snapshots/" + snap, contents: Data(bytes))
        let r = try w.run(["verify"])
        #expect(r.code == 14 && r.stderr.contains("snapshot \(snap.prefix(8))"))

        let index = try FileManager.default.contentsOfDirectory(atPath: w.repo + "/index")[0]
        _ = FileManager.default.createFile(atPath: w.repo + "/index/" + index, contents: Data([1, 2, 3]))
        let ri = try w.run(["verify"])
        #expect(ri.stderr.contains("index/\(index.prefix(8))") && ri.stderr.contains("repair index"))
        try w.ok(["repair", "index"])
        #expect(!(try w.run(["verify"]).stderr.contains("index/")), "the rebuilt index is whole again")
    }

    /// Writes a snapshot whose root tree is `nodes`, bypassing the archiver (as an attacker with
    /// the key, or a bug, could).
    func craft(_ w: Workspace, _ nodes: [Node]) throws {
        var tree = Tree(nodes: [])
        tree.nodes = nodes
        try craft(w, treeBytes: tree.encode())
    }

    /// Stores a snapshot whose root tree is `bytes`, and one chunk "pwned" for its files.
    func craft(_ w: Workspace, treeBytes bytes: [UInt8]) throws {
        var key = Array(FileManager.default.contents(atPath: w.key)!)
        let repo = try Repository.open(LocalBackend(path: w.repo), credential: .keyFile(SecretBytes(consuming: &key)))
        let codec = repo.makeCodec()
        let payload = Array("pwned".utf8)
        let dataPack = try repo.newPackWriter(type: .data)
        _ = try payload.withUnsafeBytes { try dataPack.add(id: SHA256.hash(payload), plaintext: $0, codec: codec) }
        let treePack = try repo.newPackWriter(type: .tree)
        _ = try bytes.withUnsafeBytes { try treePack.add(id: SHA256.hash(bytes), plaintext: $0, codec: codec) }
        var packs: [IndexedPack] = []
        for p in [dataPack, treePack] {
            let f = try p.finish(codec: codec); try repo.storePack(f); packs.append(f.indexed)
        }
        try repo.writeIndex(IndexFile(packs: packs))
        _ = try repo.saveSnapshot(
            Snapshot(
                time: Date(), tree: SHA256.hash(bytes), source: "/evil", hostname: "x", username: "x",
                tags: [], parent: nil, policy: nil, excludes: [], stats: .init()))
    }

    @Test(arguments: ["..", "a/../../escape", "/etc/passwd", "x\0y"])
    func hostileNamesAreRejectedAndNothingIsWrittenOutside(_ name: String) throws {
        let w = try Workspace()
        try w.ok(["init"])
        let file = Node(name: Array(name.utf8), kind: .file, size: 5, chunks: [SHA256.hash(Array("pwned".utf8))])
        try craft(w, [file])
        let r = try w.run(["restore", "latest", "--target", w.path("jail/target")])
        #expect(r.code == 20 || r.code == 14, "\(r.stderr)")
        #expect(r.stderr.contains("unsafe name") || r.stderr.contains("not in canonical order"))
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: w.path("jail")) == [],
            "nothing written, staging removed")
        #expect(!FileManager.default.fileExists(atPath: w.path("escape")))
    }

    @Test func aSymlinkAndADirectoryOfTheSameNameCannotSmuggleAWriteOutside() throws {
        let w = try Workspace()
        try w.ok(["init"])
        try FileManager.default.createDirectory(atPath: w.path("outside"), withIntermediateDirectories: true)
        let link = Node(
            name: Array("evil".utf8), kind: .symlink, mode: 0o777, linkTarget: Array(w.path("outside").utf8))
        let dir = Node(name: Array("evil".utf8), kind: .directory, mode: 0o755, subtree: SHA256.hash("x"))
        try craft(w, [link, dir])
        let r = try w.run(["restore", "latest", "--target", w.path("target")])
        #expect(r.code == 14)
        #expect(try FileManager.default.contentsOfDirectory(atPath: w.path("outside")) == [])
    }

    @Test func aSymlinkPointingOutsideIsRestoredAsALinkNeverFollowed() throws {
        let w = try Workspace()
        try w.ok(["init"])
        try FileManager.default.createDirectory(atPath: w.path("outside"), withIntermediateDirectories: true)
        let link = Node(name: Array("out".utf8), kind: .symlink, mode: 0o777, linkTarget: Array(w.path("outside").utf8))
        try craft(w, [link])
        try w.ok(["restore", "latest", "--target", w.path("target")])
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: w.path("target/out")) == w.path("outside"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: w.path("outside")) == [])
    }
}

extension CorruptionTests {
    /// A tree that names a chunk the repository never stored: verify names the file, restore
    /// stops with "missing" and writes nothing.
    @Test func aTreeReferencingAMissingChunkIsReportedAndNotRestored() throws {
        let w = try Workspace()
        try w.ok(["init"])
        let ghost = SHA256.hash(Array("never stored".utf8))
        let file = Node(name: Array("ledger.dat".utf8), kind: .file, size: 12, chunks: [ghost])
        try craft(w, [file])
        let verify = try w.run(["verify"])
        #expect(verify.code == 14 && verify.stderr.contains("ledger.dat"), "\(verify.stderr)")
        let r = try w.run(["restore", "latest", "--target", w.path("out")])
        #expect(r.code == 22 && r.stderr.contains("ledger.dat"), "\(r.code) \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: w.path("out")))
    }

    /// A device node (or any type a tree cannot hold) is refused with its name; nothing is written.
    @Test func aDeviceNodeIsRefused() throws {
        let w = try Workspace()
        try w.ok(["init"])
        var bytes = Tree(nodes: [
            Node(name: Array("sda".utf8), kind: .file, size: 5, chunks: [SHA256.hash(Array("pwned".utf8))])
        ]).encode()
        let name = Array("sda".utf8)
        let at = (0...(bytes.count - 3)).first { Array(bytes[$0..<$0 + 3]) == name }! + 3
        #expect(bytes[at] == Node.Kind.file.rawValue)
        bytes[at] = 6  // S_IFBLK >> 12: what a block device would be
        try craft(w, treeBytes: bytes)
        let r = try w.run(["restore", "latest", "--target", w.path("out")])
        #expect(r.code == 20 && r.stderr.contains("unsupported type 6"), "\(r.code) \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: w.path("out")))
        #expect(try w.run(["verify"]).code != 0)
    }

    /// Hardlinks in a snapshot only ever join regular files of the same restore: a "hardlink"
    /// sharing an inode with a symlink to a file outside gets its own content, and the outside
    /// file keeps its single link and its bytes.
    @Test func aHardlinkCannotReachOutsideTheTarget() throws {
        let w = try Workspace()
        try w.ok(["init"])
        try w.write("outside/secret", Array("keep".utf8))
        let pwned = SHA256.hash(Array("pwned".utf8))
        let link = Node(
            name: Array("a".utf8), kind: .symlink, mode: 0o777, inode: 7, device: 1, links: 2,
            linkTarget: Array(w.path("outside/secret").utf8))
        let file = Node(name: Array("b".utf8), kind: .file, inode: 7, device: 1, links: 2, size: 5, chunks: [pwned])
        let twin = Node(name: Array("c".utf8), kind: .file, inode: 7, device: 1, links: 2, size: 5, chunks: [pwned])
        try craft(w, [link, file, twin])
        try w.ok(["restore", "latest", "--target", w.path("out")])
        var outside = stat(), b = stat(), c = stat()
        stat(w.path("outside/secret"), &outside)
        lstat(w.path("out/b"), &b)
        lstat(w.path("out/c"), &c)
        #expect(
            outside.st_nlink == 1 && FileManager.default.contents(atPath: w.path("outside/secret")) == Data("keep".utf8)
        )
        #expect(b.st_ino != outside.st_ino && c.st_ino != outside.st_ino)
        #expect(
            b.st_ino == c.st_ino && (b.st_mode & S_IFMT) == S_IFREG,
            "the two files of the snapshot are linked to each other")
        #expect(FileManager.default.contents(atPath: w.path("out/b")) == Data("pwned".utf8))
    }

    /// A file claiming an enormous size its chunks do not add up to is refused before anything is
    /// allocated on disk.
    @Test func anEnormousClaimedSizeIsRefused() throws {
        let w = try Workspace()
        try w.ok(["init"])
        let file = Node(
            name: Array("huge".utf8), kind: .file, size: 1 << 50, chunks: [SHA256.hash(Array("pwned".utf8))])
        try craft(w, [file])
        let r = try w.run(["restore", "latest", "--target", w.path("out")])
        #expect(r.code == 14 && r.stderr.contains("huge"), "\(r.code) \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: w.path("out")))
    }
}
