import Foundation
import Synchronization
import Testing
import VaultTestSupport
import VaultCore
import VaultEngine
import VaultRepository
import VaultStorage

/// A backend that answers badly on purpose: flips one bit of reads of one kind (the first
/// `flips` reads), fails reads of one kind as a storage failure, or leaves one snapshot out of
/// one listing without saying so.
final class FaultyBackend: Backend, Sendable {
    let inner = MemoryBackend()
    private let state = Mutex<(flipKind: ObjectKind?, flips: Int, failKind: ObjectKind?, dropOnList: Int?, lists: Int)>(
        (nil, 0, nil, nil, 0))
    var location: String { "faulty" }
    func create() throws { try inner.create() }
    func write(_ handle: ObjectHandle, _ bytes: [UInt8]) throws { try inner.write(handle, bytes) }
    func delete(_ handle: ObjectHandle) throws { try inner.delete(handle) }
    func stat(_ handle: ObjectHandle) throws -> Int? { try inner.stat(handle) }

    func flip(_ kind: ObjectKind, times: Int = 1) {
        state.withLock {
            $0.flipKind = kind; $0.flips = times
        }
    }
    func fail(_ kind: ObjectKind?) { state.withLock { $0.failKind = kind } }
    /// The n-th listing of snapshots from now on (1 = the next) leaves out its last entry.
    func dropSnapshotFromListing(_ n: Int) {
        state.withLock {
            $0.dropOnList = n; $0.lists = 0
        }
    }

    func read(_ handle: ObjectHandle, range: Range<Int>?) throws -> [UInt8] {
        let (flip, fail) = state.withLock { s -> (Bool, Bool) in
            let flip = s.flipKind == handle.kind && s.flips > 0
            if flip { s.flips -= 1 }
            return (flip, s.failKind == handle.kind)
        }
        if fail { throw VaultError(.storageFailure, "reading \(handle) failed after 8 attempts: HTTP 503 SlowDown") }
        var bytes = try inner.read(handle, range: range)
        if flip, !bytes.isEmpty { bytes[bytes.count / 2] ^= 0x10 }
        return bytes
    }

    func list(_ kind: ObjectKind) throws -> [ObjectInfo] {
        var all = try inner.list(kind)
        guard kind == .snapshot else { return all }
        let drop = state.withLock { s -> Bool in
            s.lists += 1; return s.dropOnList == s.lists
        }
        if drop { all = Array(all.sorted { $0.name < $1.name }.dropLast()) }
        return all
    }
}

private func repositoryWithTwoSnapshots() throws -> (FaultyBackend, String) {
    let dir = temporaryDirectory("cv-engine")
    try FileManager.default.createDirectory(atPath: dir + "/src", withIntermediateDirectories: true)
    let backend = FaultyBackend()
    let repo = try Repository.initialize(backend, credential: keyCredential(), scrypt: .init(n: 2, r: 1, p: 1))
    for content in [SecureRandom.bytes(300_000), SecureRandom.bytes(300_000)] {
        _ = FileManager.default.createFile(atPath: dir + "/src/data.bin", contents: Data(content))
        _ = try Archiver(repository: repo, options: BackupOptions(source: dir + "/src")).run()
    }
    return (backend, dir)
}

/// One flipped bit on the way is not damage: every kind of object is read again before it is
/// called corrupt, so opening, listing, loading the index and reading data all succeed.
@Test(arguments: [ObjectKind.key, .config, .index, .snapshot, .pack])
func oneDamagedReadIsReadAgainBeforeItCountsAsDamage(_ kind: ObjectKind) throws {
    let (backend, dir) = try repositoryWithTwoSnapshots()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    backend.flip(kind)
    let repo = try Repository.open(backend, credential: keyCredential())
    try repo.loadIndex()
    let latest = try repo.resolveSnapshot("latest")
    _ = try repo.loadTree(latest.snapshot.tree, codec: repo.makeCodec())
    var options = VerifyOptions()
    options.readData = .all
    let report = try Checker(repository: repo, options: options).run()
    #expect(report.clean, "\(report.problems) \(report.unreadable)")
}

/// Damage that a second read confirms is still damage.
@Test func damageSeenOnTwoReadsIsCorrupt() throws {
    let (backend, dir) = try repositoryWithTwoSnapshots()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let repo = try Repository.open(backend, credential: keyCredential())
    backend.flip(.snapshot, times: 2)
    let e = #expect(throws: VaultError.self) {
        try repo.loadSnapshot(#require(SnapshotID(hex: try backend.inner.list(.snapshot)[0].name)))
    }
    #expect(e?.code == .corrupt)
    backend.flip(.pack, times: 1_000)
    var options = VerifyOptions()
    options.readData = .all
    let report = try Checker(repository: repo, options: options).run()
    #expect(!report.problems.isEmpty && report.unreadable.isEmpty)
}

/// A pack that cannot be read is reported as unreadable, not as damage.
@Test func aPackThatCannotBeReadIsUnreadableNotDamaged() throws {
    let (backend, dir) = try repositoryWithTwoSnapshots()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let repo = try Repository.open(backend, credential: keyCredential())
    backend.fail(.pack)
    var options = VerifyOptions()
    options.readData = .all
    let report = try Checker(repository: repo, options: options).run()
    #expect(report.problems.isEmpty, "\(report.problems)")
    #expect(!report.unreadable.isEmpty && !report.clean)
}

/// A listing that silently leaves out a snapshot (no error, no truncation flag) must not make
/// its packs look unused: prune lists again before deleting and stops when the two disagree.
@Test func pruneStopsWhenTwoListingsDisagree() throws {
    let (backend, dir) = try repositoryWithTwoSnapshots()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let packsBefore = try backend.inner.list(.pack).count
    let repo = try Repository.open(backend, credential: keyCredential())
    backend.dropSnapshotFromListing(1)
    let e = #expect(throws: VaultError.self) { try Pruner(repository: repo).run() }
    #expect(
        e?.code == .storageFailure && e?.message.contains("two listings of the repository disagree") == true,
        "\(String(describing: e))")
    #expect(try backend.inner.list(.pack).count == packsBefore, "nothing was deleted")
    let again = try Repository.open(backend, credential: keyCredential())
    var options = VerifyOptions()
    options.readData = .all
    #expect(try Checker(repository: again, options: options).run().clean)
}
