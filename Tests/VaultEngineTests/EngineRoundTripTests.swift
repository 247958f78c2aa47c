import Foundation
import Testing
import VaultTestSupport
import VaultCore
import VaultEngine
import VaultRepository
@_spi(Repository) import VaultStorage

@Test func archiverCheckerRestorerAndPrunerAgreeOnAMemoryRepository() throws {
    let dir = temporaryDirectory("cv-engine")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let big = SecureRandom.bytes(2_500_000)
    _ = FileManager.default.createFile(atPath: dir + "/src/a.bin", contents: nil)
    try FileManager.default.createDirectory(atPath: dir + "/src/sub", withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: dir + "/src/a.bin", contents: Data(big))
    _ = FileManager.default.createFile(atPath: dir + "/src/sub/copy.bin", contents: Data(big))  // dedups entirely

    let backend = MemoryBackend()
    let repo = try Repository.initialize(backend, credential: keyCredential())
    let first = try Archiver(repository: repo, options: BackupOptions(source: dir + "/src")).run()
    #expect(first.snapshot.stats.bytesRead == 5_000_000)
    #expect(first.snapshot.stats.bytesNew == 2_500_000, "the copy is deduplicated")

    let reopened = try Repository.open(backend, credential: keyCredential())
    var options = VerifyOptions()
    options.readData = .all
    let report = try Checker(repository: reopened, options: options).run()
    #expect(report.clean, "\(report.problems)")
    #expect(report.files == 2)

    // Replace the content, back up again, forget the first snapshot and prune: the old chunks go.
    _ = FileManager.default.createFile(atPath: dir + "/src/a.bin", contents: Data([1, 2, 3]))
    try FileManager.default.removeItem(atPath: dir + "/src/sub/copy.bin")
    let repo2 = try Repository.open(backend, credential: keyCredential())
    _ = try Archiver(repository: repo2, options: BackupOptions(source: dir + "/src")).run()
    try backend.delete(ObjectHandle(.snapshot, first.snapshotID.hex))
    let pruned = try Pruner(repository: try Repository.open(backend, credential: keyCredential())).run()
    #expect(pruned.bytesFreed >= 2_500_000)
    let after = try Checker(repository: try Repository.open(backend, credential: keyCredential()), options: options)
        .run()
    #expect(after.clean, "\(after.problems)")

    let restored = try Restorer(
        repository: try Repository.open(backend, credential: keyCredential()),
        options: RestoreOptions(snapshot: "latest", target: dir + "/out")
    ).run()
    #expect(restored.files == 1)
    #expect(FileManager.default.contents(atPath: dir + "/out/a.bin") == Data([1, 2, 3]))
}

@Test func checkerNamesTheFilesABadBlobAffects() throws {
    let dir = temporaryDirectory("cv-engine")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir + "/src/deep", withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: dir + "/src/deep/x", contents: Data(repeating: 5, count: 10_000))
    let backend = MemoryBackend()
    let repo = try Repository.initialize(backend, credential: keyCredential())
    let result = try Archiver(repository: repo, options: BackupOptions(source: dir + "/src")).run()
    for pack in try backend.list(.pack)
    where try repo.readPackHeader(name: pack.name, size: pack.size).entries.first?.type == .data {
        backend.tamper(ObjectHandle(.pack, pack.name)) { $0[50] ^= 1 }
    }
    var options = VerifyOptions()
    options.readData = .all
    let report = try Checker(repository: try Repository.open(backend, credential: keyCredential()), options: options)
        .run()
    #expect(!report.clean)
    #expect(
        report.affected == [AffectedFile(snapshot: result.snapshotID.shortHex, path: "/deep/x")], "\(report.affected)")
}
