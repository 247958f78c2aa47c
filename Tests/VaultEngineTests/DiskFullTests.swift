import Foundation
import Synchronization
import Testing
import VaultTestSupport
import VaultCore
import VaultEngine
import VaultRepository
import VaultStorage

/// A backend whose disk fills up after `capacity` bytes: writes then fail the way ENOSPC does.
final class FillingBackend: Backend, Sendable {
    let inner = MemoryBackend()
    private let room: Mutex<Int>
    /// The bytes writes may still use; set by the test between runs, used up by the workers.
    var capacity: Int {
        get { room.withLock { $0 } }
        set { room.withLock { $0 = newValue } }
    }
    var location: String { "filling:" + inner.location }

    init(capacity: Int) { room = Mutex(capacity) }

    func create() throws { try inner.create() }
    func list(_ kind: ObjectKind) throws -> [ObjectInfo] { try inner.list(kind) }
    func read(_ handle: ObjectHandle, range: Range<Int>?) throws -> [UInt8] { try inner.read(handle, range: range) }
    func delete(_ handle: ObjectHandle) throws { try inner.delete(handle) }
    func stat(_ handle: ObjectHandle) throws -> Int? { try inner.stat(handle) }

    func write(_ handle: ObjectHandle, _ bytes: [UInt8]) throws {
        try room.withLock { capacity in
            guard bytes.count <= capacity else {
                throw VaultError(
                    .storageFull, "no space left while trying to write \(handle)",
                    hint: "free space on that file system")
            }
            capacity -= bytes.count
        }
        try inner.write(handle, bytes)
    }
}

@Test func aFullDiskFailsTheBackupCleanlyAndTheNextRunSucceeds() throws {
    let dir = temporaryDirectory("cv-engine")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir + "/src", withIntermediateDirectories: true)
    for i in 0..<6 {  // 6 × 3 MB of incompressible data: several 1 MiB packs
        _ = FileManager.default.createFile(atPath: dir + "/src/f\(i)", contents: Data(SecureRandom.bytes(3_000_000)))
    }
    let backend = FillingBackend(capacity: 1 << 30)
    var config = RepositoryConfig.new()
    config.packSize = 1 << 20
    _ = try Repository.initialize(backend, credential: keyCredential(), config: config)
    backend.capacity = 7_000_000  // room for about a third of the data

    let error = #expect(throws: VaultError.self) {
        try Archiver(
            repository: try Repository.open(backend, credential: keyCredential()),
            options: BackupOptions(source: dir + "/src")
        ).run()
    }
    #expect(error?.code == .storageFull)
    #expect(try backend.list(.snapshot).isEmpty, "no snapshot refers to data that was not stored")

    var verify = VerifyOptions()
    verify.readData = .all
    let report = try Checker(repository: try Repository.open(backend, credential: keyCredential()), options: verify)
        .run()
    #expect(report.clean, "the repository stays consistent: \(report.problems)")

    backend.capacity = 1 << 30  // space freed
    let result = try Archiver(
        repository: try Repository.open(backend, credential: keyCredential()),
        options: BackupOptions(source: dir + "/src")
    ).run()
    #expect(result.snapshot.stats.bytesNew < 18_000_000, "data stored before the disk filled is reused")
    #expect(
        try Checker(repository: try Repository.open(backend, credential: keyCredential()), options: verify).run().clean)
    let restored = try Restorer(
        repository: try Repository.open(backend, credential: keyCredential()),
        options: RestoreOptions(snapshot: "latest", target: dir + "/out")
    ).run()
    #expect(restored.files == 6)
}
