import Foundation
import Glibc
import Testing
import VaultCore

struct DirectoryCursorTests {
    @Test(arguments: [
        ([UInt8]("plain".utf8), "plain"),
        ([UInt8]("bad".utf8) + [0xff] + [UInt8]("name".utf8), "bad\\xffname"),
        ([0x78, 0xef, 0xbf, 0xbd], "x\u{FFFD}"),
        ([0xc3], "\\xc3"),
        ([0xe2, 0x82, 0xac, 0xfe], "€\\xfe")
    ])
    func namesPrintWithInvalidBytesEscapedAndReadBack(_ bytes: [UInt8], _ shown: String) {
        #expect(FileName.display(bytes) == shown)
        #expect(FileName.unescape(shown) == bytes)
    }

    /// Descriptors of this process open on something under `root` (tests run in parallel, so
    /// other descriptors come and go).
    func openDescriptors(under root: String) -> Int {
        var count = 0
        for fd in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + fd),
                target.hasPrefix(root)
            {
                count += 1
            }
        }
        return count
    }

    /// Down and back up a 300-deep chain with at most 4 descriptors: every level re-opened on the
    /// way up is the same directory, and nothing leaks.
    @Test func aDeepWalkKeepsItsDescriptorsBoundedAndComesBackToTheSameDirectories() throws {
        let root = NSTemporaryDirectory() + "cv-cursor-" + UUID().uuidString.prefix(8)
        try Posix.mkdirs(root)
        defer { try? Posix.removeTree(root) }
        do {
            let cursor = try DirectoryCursor(
                rootFD: try Posix.open(root, O_RDONLY | O_DIRECTORY), display: root, limit: 4)
            var inodes: [UInt64] = []
            for depth in 0..<300 {
                var st = stat()
                fstat(try cursor.current(), &st)
                inodes.append(UInt64(st.st_ino))
                let name = Array("level-\(depth)".utf8) + [0xff]
                try Posix.mkdirAt(try cursor.current(), name, mode: 0o755, display: "level")
                try cursor.enter(name)
                #expect(openDescriptors(under: root) <= 4)
            }
            #expect(cursor.depth == 300)
            for depth in (0..<300).reversed() {
                cursor.leave()
                var st = stat()
                fstat(try cursor.current(), &st)
                #expect(UInt64(st.st_ino) == inodes[depth], "level \(depth) re-opened as itself")
                #expect(openDescriptors(under: root) <= 4)
            }
        }
        #expect(openDescriptors(under: root) == 0, "the cursor closes what it opened")
    }

    /// A level re-opened from its ancestors (its child was moved away, so `..` is another
    /// directory) must be the directory entered: the same one is accepted, a replacement refused.
    @Test(arguments: [false, true])
    func aLevelIsReopenedOnlyAsTheDirectoryEntered(_ replaced: Bool) throws {
        let root = NSTemporaryDirectory() + "cv-cursor-" + UUID().uuidString.prefix(8)
        try Posix.mkdirs(root + "/a/b")
        defer { try? Posix.removeTree(root) }
        let cursor = try DirectoryCursor(rootFD: try Posix.open(root, O_RDONLY | O_DIRECTORY), display: root, limit: 2)
        try cursor.enter(Array("a".utf8))
        var original = stat()
        fstat(try cursor.current(), &original)
        try cursor.enter(Array("b".utf8))  // limit 2: only the root and b stay open
        try Posix.rename(root + "/a/b", root + "/b-moved")
        if replaced {
            try Posix.rename(root + "/a", root + "/a-old")
            try Posix.mkdirs(root + "/a")
        }
        cursor.leave()
        if replaced {
            #expect(throws: VaultError.self) { try cursor.current() }
        } else {
            var st = stat()
            fstat(try cursor.current(), &st)
            #expect(st.st_ino == original.st_ino)
        }
    }

    @Test func removeTreeRemovesReadOnlyDirectoriesItMade() throws {
        let root = NSTemporaryDirectory() + "cv-remove-" + UUID().uuidString.prefix(8)
        try Posix.mkdirs(root + "/ro/inner")
        _ = FileManager.default.createFile(atPath: root + "/ro/inner/file", contents: Data("x".utf8))
        chmod(root + "/ro/inner", 0o500)
        chmod(root + "/ro", 0o000)
        try Posix.removeTree(root)
        #expect(try Posix.lstat(root) == nil)
    }
}
