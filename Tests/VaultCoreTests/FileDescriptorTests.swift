import Foundation
import Glibc
import Testing
import VaultCore

/// The owning descriptor closes exactly once on every path, and the metadata wrappers check
/// their results and name the path. Descriptors are counted by what they point at, not by
/// number: tests run in parallel and reuse numbers.
struct FileDescriptorTests {
    struct Boom: Error {}

    static func withFile(_ body: (String) throws -> Void) throws {
        let dir = NSTemporaryDirectory() + "cv-fd-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/file"
        #expect(FileManager.default.createFile(atPath: file, contents: Data([1, 2, 3])))
        try body(file)
    }

    static func openCount(_ path: String) -> Int {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return fds.filter {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0)) == path
        }
        .count
    }

    @Test func closeAfterClosesWhenTheBodyReturnsAndWhenItThrows() throws {
        try Self.withFile { file in
            let size = try FileDescriptor.open(file, O_RDONLY).closeAfter { fd in
                #expect(Self.openCount(file) == 1)
                return try Posix.fileSize(fd.rawValue, path: file)
            }
            #expect(size == 3)
            #expect(Self.openCount(file) == 0)
            #expect(throws: Boom.self) {
                try FileDescriptor.open(file, O_RDONLY).closeAfter { _ in throw Boom() }
            }
            #expect(Self.openCount(file) == 0)
        }
    }

    @Test func anOwnerThatGoesAwayClosesAndAReleasedOneDoesNot() throws {
        try Self.withFile { file in
            do {
                let fd = try FileDescriptor.open(file, O_RDONLY)
                #expect(Self.openCount(file) == 1)
                _ = fd.rawValue
            }
            #expect(Self.openCount(file) == 0)
            let raw = try FileDescriptor.open(file, O_RDONLY).release()
            #expect(Self.openCount(file) == 1)
            try FileDescriptor(adopting: raw).close(path: file)
            #expect(Self.openCount(file) == 0)
        }
    }

    @Test func metadataIsSetThroughTheDescriptorAndFailuresNameThePath() throws {
        try Self.withFile { file in
            let fd = try FileDescriptor.open(file, O_RDONLY)
            try fd.setMode(0o640, path: file)
            let when = timespec(tv_sec: 1_000_000_000, tv_nsec: 123)
            try fd.setTimes(access: when, modification: when, path: file)
            let st = try fd.status(path: file)
            #expect(st.st_mode & 0o7777 == 0o640)
            #expect(st.st_mtim.tv_sec == 1_000_000_000 && st.st_mtim.tv_nsec == 123)
            // The status flags are added to what is there; a mode on an entry that is not there
            // fails with the entry named.
            try Posix.addStatusFlags(fd.rawValue, O_NONBLOCK, path: file)
            #expect(fcntl(fd.rawValue, F_GETFL) & O_NONBLOCK != 0)
            let dir = try FileDescriptor.open(Path.parent(file), O_RDONLY | O_DIRECTORY)
            let error = #expect(throws: VaultError.self) {
                try Posix.setMode(at: dir.rawValue, Array("missing".utf8), 0o600, path: "missing-entry")
            }
            #expect(error?.message == "cannot set the mode of missing-entry")
            #expect(Posix.trySetOwner(at: dir.rawValue, Array("missing".utf8), uid: 0, gid: 0) == ENOENT)
        }
    }
}
