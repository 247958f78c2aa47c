import Foundation
import Glibc
import Testing
import VaultTestSupport
import VaultCore
@testable import VaultEngine
import VaultRepository
import VaultStorage

/// The comparison a scratch drill makes after its restore: a restored tree that is exactly the
/// snapshot passes; each way a tree can differ (a flipped byte with the mtime kept, a mode, a
/// missing file, a symlink's target, a file cut short) is named.
@Test func aRestoredTreeIsComparedEntryByEntryWithItsSnapshot() throws {
    let dir = temporaryDirectory("cv-engine")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir + "/src/a/b", withIntermediateDirectories: true)
    for (name, size) in [("one.bin", 1_500_000), ("a/two.bin", 40_000), ("a/b/three.bin", 3000), ("a/short.bin", 9000)]
    {
        _ = FileManager.default.createFile(atPath: dir + "/src/" + name, contents: Data(SecureRandom.bytes(size)))
    }
    try FileManager.default.createSymbolicLink(atPath: dir + "/src/a/link", withDestinationPath: "two.bin")
    let repo = try Repository.initialize(LocalBackend(path: dir + "/repo"), credential: keyCredential())
    _ = try Archiver(repository: repo, options: BackupOptions(source: dir + "/src")).run()
    let record = try repo.resolveSnapshot("latest")
    _ = try Restorer(repository: repo, options: RestoreOptions(snapshot: record.id.hex, target: dir + "/out")).run()
    let compare = {
        try RestoredTreeComparison(repository: repo, root: dir + "/out", cancellation: Cancellation()).compare(record)
    }
    let clean = try compare()
    #expect(clean.problems == [] && clean.files == 4 && clean.directories == 3, "\(clean)")

    var st = stat()
    lstat(dir + "/out/one.bin", &st)
    let fd = open(dir + "/out/one.bin", O_WRONLY)
    var byte: UInt8 = 0x42
    _ = pwrite(fd, &byte, 1, 1_200_000)
    var times = [st.st_atim, st.st_mtim]
    _ = futimens(fd, &times)
    close(fd)
    chmod(dir + "/out/a/b", 0o777)
    unlink(dir + "/out/a/b/three.bin")
    unlink(dir + "/out/a/link")
    symlink("elsewhere", dir + "/out/a/link")
    truncate(dir + "/out/a/short.bin", 100)
    let found = try compare().problems.joined(separator: "\n")
    for expected in [
        "one.bin: chunk", "a/b: mode 777", "a/b/three.bin: missing", "a/link: link target differs",
        "a/short.bin: 100 bytes"
    ] {
        #expect(found.contains(expected), "\(expected) in:\n\(found)")
    }
}
