import Foundation
import Testing
import VaultTestSupport
import VaultCore
import VaultEngine
import VaultRepository
import VaultStorage

/// The chooser hook decides between a protected file's live copy and the snapshot's, with both
/// byte contents in hand, in place (the default for a non-empty target) and in a staged --force.
struct ProtectedChooserTests {
    /// A dummy rule: keep the copy whose first byte is higher (as a chain keeps the higher height).
    static let higher: @Sendable (String, [UInt8], [UInt8]) -> ProtectedChoice = { _, live, snapshot in
        (live.first ?? 0) >= (snapshot.first ?? 0) ? .keepLive : .takeSnapshot
    }

    @Test(arguments: [false, true])
    func theChooserSeesBothCopiesAndItsChoiceIsRestored(force: Bool) throws {
        let dir = temporaryDirectory("cv-engine")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/src", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir + "/src/state.json", contents: Data([5]))
        _ = FileManager.default.createFile(atPath: dir + "/src/other", contents: Data([1]))
        let backend = MemoryBackend()
        let repo = try Repository.initialize(backend, credential: keyCredential())
        _ = try Archiver(repository: repo, options: BackupOptions(source: dir + "/src")).run()
        func restore() throws -> RestoreResult {
            var options = RestoreOptions(snapshot: "latest", target: dir + "/node")
            options.protect = ["state.json"]
            options.force = force
            options.protectedChooser = Self.higher
            return try Restorer(repository: try Repository.open(backend, credential: keyCredential()), options: options)
                .run()
        }
        _ = try restore()
        // Live is ahead (9 > 5): kept. Live is behind (2 < 5): the snapshot's wins.
        _ = FileManager.default.createFile(atPath: dir + "/node/state.json", contents: Data([9]))
        _ = FileManager.default.createFile(atPath: dir + "/node/other", contents: Data([7]))
        let kept = try restore()
        #expect(kept.protectedKept == ["state.json"])
        #expect(FileManager.default.contents(atPath: dir + "/node/state.json") == Data([9]))
        #expect(FileManager.default.contents(atPath: dir + "/node/other") == Data([1]))
        _ = FileManager.default.createFile(atPath: dir + "/node/state.json", contents: Data([2]))
        let taken = try restore()
        #expect(taken.protectedFromSnapshot == ["state.json"])
        #expect(FileManager.default.contents(atPath: dir + "/node/state.json") == Data([5]))
    }
}
