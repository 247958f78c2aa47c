import Foundation
import Glibc
import Testing
import VaultCore

/// The backup and the size walk beside it (a first backup's total) list the source's root through
/// duplicates of one descriptor. A `dup` shares the file offset, so one listing's rewind moved the
/// other: it read the directory twice (a tree with repeated names: "entries are not in canonical
/// order or repeat a name" at restore) or stopped early (a root saved with entries missing).
struct DirectoryListingTests {
    @Test func listingADirectoryNeverMovesAnotherReaderOfTheSameDescriptor() throws {
        let dir = NSTemporaryDirectory() + "cv-listing-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Enough entries that one readdir buffer (32 KiB of dirents) cannot hold them all.
        let count = 3000
        for i in 0..<count {
            let name = String(format: "%05d-", i) + String(repeating: "n", count: 60)
            #expect(FileManager.default.createFile(atPath: dir + "/" + name, contents: nil))
        }
        let fd = open(dir, O_RDONLY | O_DIRECTORY)
        #expect(fd >= 0)
        defer { close(fd) }
        // A reader through a duplicate (as the archiver's cursor is), one buffer read so far.
        guard let reader = fdopendir(dup(fd)) else { Issue.record("fdopendir"); return }
        defer { closedir(reader) }
        var seen: [String] = []
        func next() -> Bool {
            guard let e = readdir(reader) else { return false }
            let name = withUnsafePointer(to: e.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { seen.append(name) }
            return true
        }
        #expect(next())
        // Another listing of the same directory through the same descriptor, in between.
        #expect(try DirectoryListing.entries(of: fd, path: dir).count == count)
        while next() {}
        #expect(
            seen.count == count && Set(seen).count == count,
            "the first reader saw \(seen.count) names (\(Set(seen).count) distinct) of \(count)")
    }
}
