import Foundation
import Glibc
import Testing
import VaultCore

/// Hardlinked files in an in-place restore (issue 11): a damaged inode with several names is
/// rebuilt once and every name is linked to it, the same inode as a full restore gives them.
struct InPlaceHardlinkTests {
    static func identity(_ path: String) -> (inode: UInt64, links: UInt64) {
        var st = stat()
        lstat(path, &st)
        return (UInt64(st.st_ino), UInt64(st.st_nlink))
    }

    @Test func aDamagedHardlinkedFileIsRebuiltOnceAndItsNamesShareOneInode() throws {
        let w = try Workspace()
        let (src, _) = try InPlaceFixture.restoredNode(w)
        let restored = Self.identity(w.path("node/blocks/text.log"))
        #expect(restored.links == 2 && Self.identity(w.path("node/hardlink.log")).inode == restored.inode)
        // Both names see the damage: they are one inode.
        try InPlaceRestoreTests.rot(w.path("node/hardlink.log"), at: 10, keepMtime: false)
        let r = try w.ok(["restore", "latest", "--target", w.path("node"), "--json"]).json
        #expect(r["mode"] as? String == "in-place")
        #expect(try treeDifferences(src, w.path("node")) == [])
        let text = Self.identity(w.path("node/blocks/text.log")), link = Self.identity(w.path("node/hardlink.log"))
        #expect(text.inode == link.inode && text.links == 2, "one inode with two names: \(text) \(link)")
        #expect(text.inode != restored.inode, "the damaged inode was replaced")
        // text.log is 640,000 bytes: rebuilt and written once, not once per name.
        #expect((r["bytesWritten"] as? Int ?? .max) == 640_000, "\(r)")
        #expect((r["bytesFetched"] as? Int ?? .max) <= 640_000, "\(r)")
        #expect(r["entriesReplaced"] as? Int == 2, "both names are installed: \(r)")
    }

    /// A target whose names of one inode were split (copied, as a copy without -H does) gets the
    /// link back: the kept name's inode is linked in place of the copy, nothing is fetched.
    @Test func aSplitHardlinkIsLinkedAgainToTheKeptInode() throws {
        let w = try Workspace()
        let (src, _) = try InPlaceFixture.restoredNode(w)
        let link = w.path("node/hardlink.log")
        var st = stat()
        lstat(link, &st)
        let content = try Data(contentsOf: URL(fileURLWithPath: link))
        try FileManager.default.removeItem(atPath: link)
        try content.write(to: URL(fileURLWithPath: link))
        chmod(link, st.st_mode & 0o7777)
        var times = [st.st_atim, st.st_mtim]
        #expect(utimensat(AT_FDCWD, link, &times, 0) == 0)
        #expect(Self.identity(link).inode != Self.identity(w.path("node/blocks/text.log")).inode)
        let r = try w.ok(["restore", "latest", "--target", w.path("node"), "--json"]).json
        #expect(try treeDifferences(src, w.path("node")) == [])
        let text = Self.identity(w.path("node/blocks/text.log"))
        #expect(Self.identity(link).inode == text.inode && text.links == 2, "the link is back")
        #expect(r["bytesFetched"] as? Int == 0 && r["bytesWritten"] as? Int == 0, "\(r)")
    }
}
