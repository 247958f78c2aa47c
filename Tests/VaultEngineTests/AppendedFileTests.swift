import Foundation
import Testing
import VaultTestSupport
import VaultCore
import VaultEngine
import VaultRepository
@_spi(Repository) import VaultStorage

/// A changed file's leading chunks are kept from the parent snapshot after a SHA-256 check, not
/// chunked again (issue 17, after-a-day backups); the chunks are those a first backup makes.
@Suite struct AppendedFileTests {
    /// The chunks of `name` in the latest snapshot `result` made.
    static func chunks(_ repo: Repository, _ result: BackupResult, _ name: String) throws -> [BlobID] {
        let tree = try repo.loadTree(result.snapshot.tree, codec: repo.makeCodec())
        return try #require(tree.node(named: Array(name.utf8))).chunks
    }

    /// Backs up `before`, then the file changed to `after`; returns the second backup's result, its
    /// chunks and those a first backup of `after` makes in a fresh repository.
    static func backUpChange(_ before: [UInt8], _ after: [UInt8]) throws -> (BackupResult, [BlobID], [BlobID]) {
        let dir = temporaryDirectory("cv-appended")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/src", withIntermediateDirectories: true)
        let path = dir + "/src/blk00000.dat"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(before)))
        let (repo, backend) = try newRepository()
        let first = try Archiver(repository: repo, options: BackupOptions(source: dir + "/src")).run()
        #expect(first.bytesReused == 0)
        // Rewritten through the same inode, as a node appends to its block file.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.write(contentsOf: Data(after))
        try handle.close()
        let reopened = try Repository.open(backend, credential: keyCredential())
        let second = try Archiver(repository: reopened, options: BackupOptions(source: dir + "/src")).run()
        var verify = VerifyOptions()
        verify.readData = .all
        let report = try Checker(repository: try Repository.open(backend, credential: keyCredential()), options: verify)
            .run()
        #expect(report.clean, "\(report.problems)")
        let restored = try Restorer(
            repository: try Repository.open(backend, credential: keyCredential()),
            options: RestoreOptions(snapshot: second.snapshotID.hex, target: dir + "/out")
        ).run()
        #expect(restored.files == 1)
        #expect(FileManager.default.contents(atPath: dir + "/out/blk00000.dat") == Data(after))

        let (fresh, _) = try newRepository()
        let alone = try Archiver(repository: fresh, options: BackupOptions(source: dir + "/src")).run()
        return (second, try chunks(reopened, second, "blk00000.dat"), try chunks(fresh, alone, "blk00000.dat"))
    }

    /// The lengths FastCDC cuts `data` into.
    static func lengths(_ data: [UInt8]) -> [Int] { FastCDC(.standard).chunkLengths(data) }

    @Test func anAppendedFileKeepsItsLeadingChunksAndGetsTheCutsOfAFirstBackup() throws {
        let before = SecureRandom.bytes(6 << 20)
        let after = before + SecureRandom.bytes(700_000)
        let (second, kept, full) = try Self.backUpChange(before, after)
        // Every chunk of the parent but its last (which the old end of the file may have cut).
        let parent = Self.lengths(before)
        #expect(parent.count >= 3)
        #expect(second.bytesReused == UInt64(parent.dropLast().reduce(0, +)))
        #expect(second.snapshot.stats.bytesRead == UInt64(after.count), "the kept bytes were read to be hashed")
        #expect(kept == full)
    }

    @Test(arguments: [0, 2])
    func aChangeInsideAChunkEndsWhatIsKeptThere(changedChunk: Int) throws {
        let before = SecureRandom.bytes(6 << 20)
        var after = before + SecureRandom.bytes(300_000)
        let parent = Self.lengths(before)
        let start = parent.prefix(changedChunk).reduce(0, +)
        after[start + parent[changedChunk] / 2] ^= 0x5a
        let (second, kept, full) = try Self.backUpChange(before, after)
        #expect(second.bytesReused == UInt64(start))
        #expect(kept == full)
    }
}
