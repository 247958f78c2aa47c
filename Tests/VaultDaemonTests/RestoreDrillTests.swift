import Foundation
import Testing
import VaultCore
import VaultDaemon
import VaultEngine
import VaultRepository
import VaultStorage

/// A backup that could not read a file counts it in its statistics (`stats.files`) but stores no
/// entry for it. The drill of such a snapshot compares with what the snapshot stores, so it passes
/// (it used to fail every time: "restored 2 files, the snapshot has 3").
@Test func aRestoreDrillCountsOnlyTheFilesTheSnapshotStored() throws {
    let dir = NSTemporaryDirectory() + "cv-drill-" + UUID().uuidString.prefix(8)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir + "/src/deep/er", withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: dir + "/src/a", contents: Data(SecureRandom.bytes(1000)))
    _ = FileManager.default.createFile(atPath: dir + "/src/deep/er/b", contents: Data(SecureRandom.bytes(1000)))
    var k = [UInt8](repeating: 4, count: 32)
    let credential = Credential.keyFile(SecretBytes(consuming: &k))
    let backend = MemoryBackend()
    let repo = try Repository.initialize(backend, credential: credential)
    _ = try Archiver(repository: repo, options: BackupOptions(source: dir + "/src")).run()
    // What the archiver records when one file cannot be opened: seen (counted), not stored.
    var skipped = try repo.listSnapshots()[0].snapshot
    skipped.stats.files += 1
    skipped.stats.skipped = ["c: cannot open (Permission denied), not backed up"]
    let id = try repo.saveSnapshot(skipped)
    let record = try repo.loadSnapshot(id)

    #expect(try RestoreDrill.storedFiles(repo, snapshot: record) == 2)
    let before = try FileManager.default.subpathsOfDirectory(atPath: dir)
    let drill = try RestoreDrill.run(repo, snapshot: record, progress: nil, cancellation: Cancellation())
    #expect(drill.files == 2)
    #expect(drill.bytes == 2000 && drill.bytesPerSecond > 0)
    #expect(try FileManager.default.subpathsOfDirectory(atPath: dir) == before, "the drill writes no copy of the tree")
}
