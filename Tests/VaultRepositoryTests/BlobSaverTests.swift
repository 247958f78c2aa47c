import VaultTestSupport
import Foundation
import Synchronization
import Testing
import VaultCore
@_spi(Testing) import VaultRepository
@_spi(Repository) import VaultStorage

/// `Repository.withBlobSaver`, the one pack-writing loop (issue 16): what it deduplicates, when
/// packs and index files reach the store, and what a failed or repacking run leaves.
@Suite struct BlobSaverTests {
    /// A memory backend whose `writeFile` (a pack handed over) waits until the test opens the gate.
    final class GatedBackend: Backend, Sendable {
        let inner = MemoryBackend()
        let gate = DispatchSemaphore(value: 0)
        let handedOver = Mutex(0)
        var location: String { "gated" }
        func create() throws { try inner.create() }
        func write(_ handle: ObjectHandle, _ bytes: [UInt8]) throws { try inner.write(handle, bytes) }
        func delete(_ handle: ObjectHandle) throws { try inner.delete(handle) }
        func stat(_ handle: ObjectHandle) throws -> Int? { try inner.stat(handle) }
        func list(_ kind: ObjectKind) throws -> [ObjectInfo] { try inner.list(kind) }
        func read(_ handle: ObjectHandle, range: Range<Int>?) throws -> [UInt8] { try inner.read(handle, range: range) }
        func writeFile(_ handle: ObjectHandle, path: String) throws {
            handedOver.withLock { $0 += 1 }
            gate.wait()
            try inner.writeFile(handle, path: path)
        }
    }

    /// A worker that fills a pack hands it to the uploader's thread and goes on sealing: the
    /// pack's fsync and hand-over (10-75 ms on a virtual disk) no longer stall compression. Before,
    /// a local repository's worker stored the pack itself, and the next blob waited for it (2.3 s of
    /// a 1 GiB first backup). The gate stays shut until the next blob was taken up; the wait has a
    /// bound only so that the old behaviour fails instead of hanging.
    @Test func aWorkerGoesOnWhileItsFullPackIsStored() throws {
        let backend = GatedBackend()
        let repo = try Self.smallPackRepository(on: backend)
        let blob = 300_000, perPack = 4  // four incompressible blobs fill a 1 MiB pack
        let group = DispatchGroup(), next = DispatchGroup()
        _ = try repo.withBlobSaver(.adding(indexEvery: 1), workers: 1) { saver in
            for _ in 0..<perPack {
                saver.budget.acquire(blob)
                saver.submit(SecureRandom.bytes(blob), length: blob, group: group)
            }
            next.enter()
            saver.budget.acquire(blob)
            saver.submit(SecureRandom.bytes(blob), length: blob, group: group) { _ in next.leave() }
            let tookNext = next.wait(timeout: .now() + 120) == .success
            #expect(tookNext, "the worker was still storing the full pack")
            // The uploader's thread reaches the gate with the full pack (after its fsync).
            while backend.handedOver.withLock({ $0 }) == 0 { usleep(1000) }
            #expect(backend.handedOver.withLock { $0 } == 1, "only the full pack is being handed over")
            backend.gate.signal()  // the full pack
            backend.gate.signal()  // the last one
        }
        #expect(try repo.listPacks().count == 2)
        #expect(try repo.listIndexFileNames().count == 2)
    }

    /// A repository whose packs are full at 1 MiB (the smallest the format allows), so a test
    /// fills one with a few blobs.
    static func smallPackRepository() throws -> (Repository, MemoryBackend) {
        let backend = MemoryBackend()
        return (try smallPackRepository(on: backend), backend)
    }

    static func smallPackRepository(on backend: Backend) throws -> Repository {
        var config = RepositoryConfig.new()
        config.packSize = 1 << 20
        return try Repository.initialize(backend, credential: keyCredential(), config: config)
    }

    @discardableResult
    static func save(_ saver: BlobSaver, _ type: BlobType, _ bytes: [UInt8]) throws -> (id: BlobID, stored: Bool) {
        try bytes.withUnsafeBytes { try saver.save(type, $0) }
    }

    @Test func aBlobTheIndexOrTheSaverAlreadyHasIsStoredOnce() throws {
        let (repo, _) = try newRepository()
        let indexed = SecureRandom.bytes(50_000), fresh = SecureRandom.bytes(60_000)
        try writePack(repo, [indexed])
        let group = DispatchGroup()
        let summary = try repo.withBlobSaver(.adding(indexEvery: 32), workers: 2) { saver in
            for bytes in [indexed, fresh, fresh] {
                saver.budget.acquire(bytes.count)
                saver.submit(bytes, length: bytes.count, group: group)
            }
            group.wait()
            let again = try Self.save(saver, .data, fresh)
            #expect(!again.stored, "a blob in flight is not stored again")
        }
        #expect(summary.dataBlobs == 1 && summary.dataBytes == 60_000)
        #expect(summary.packs.isEmpty, "packs of an adding saver go into the index, not to the caller")
        #expect(try repo.listPacks().count == 2 && repo.listIndexFileNames().count == 2)
        let reopened = try Repository.open(repo.backend, credential: keyCredential())
        try reopened.loadIndex()
        #expect(reopened.index.contains(SHA256.hash(fresh)), "the index file names the new pack")
    }

    @Test func treePacksReachTheStoreOnlyAfterEveryDataPack() throws {
        let (repo, _) = try Self.smallPackRepository()
        let blob = 300_000, perPack = 4  // four incompressible blobs fill a 1 MiB pack
        let summary = try repo.withBlobSaver(.adding(indexEvery: 1)) { saver in
            for _ in 0..<perPack { try Self.save(saver, .data, SecureRandom.bytes(blob)) }
            #expect(try repo.listPacks().count == 1, "a full data pack is stored at once")
            for _ in 0..<perPack { try Self.save(saver, .tree, SecureRandom.bytes(blob)) }
            #expect(try repo.listPacks().count == 1, "a full tree pack waits for the data")
            try Self.save(saver, .data, SecureRandom.bytes(blob))
            #expect(try repo.listPacks().count == 1)
        }
        // Two data packs (the full one and the last), one full tree pack: each indexed.
        #expect(try repo.listPacks().count == 3)
        #expect(summary.dataBlobs == UInt64(perPack + 1))
        #expect(try repo.listIndexFileNames().count == 3, "one index file a pack with indexEvery 1")
    }

    @Test func aFailedRunKeepsItsCompleteDataAndDropsItsTrees() throws {
        let (repo, _) = try newRepository()
        let data = SecureRandom.bytes(40_000), tree = SecureRandom.bytes(1_000)
        #expect(throws: VaultError.self) {
            _ = try repo.withBlobSaver(.adding(indexEvery: 32)) { saver in
                try Self.save(saver, .data, data)
                try Self.save(saver, .tree, tree)
                throw VaultError(.interrupted, "interrupted")
            }
        }
        let reopened = try Repository.open(repo.backend, credential: keyCredential())
        try reopened.loadIndex()
        #expect(reopened.index.contains(SHA256.hash(data)), "the data is stored and indexed for the next run")
        #expect(!reopened.index.contains(SHA256.hash(tree)), "a failed run's trees are not stored")
        #expect(try repo.listPacks().count == 1)
    }

    @Test func aRepackingSaverStoresWhatItIsGivenAndIndexesNothing() throws {
        let (repo, _) = try newRepository()
        let indexed = SecureRandom.bytes(50_000)
        try writePack(repo, [indexed])
        let summary = try repo.withBlobSaver(.repacking) { saver in
            let saved = try Self.save(saver, .data, indexed)
            #expect(saved.stored, "the caller's plan decides, not the index")
        }
        #expect(summary.packs.count == 1 && summary.packs[0].entries.map(\.id) == [SHA256.hash(indexed)])
        #expect(try repo.listPacks().count == 2)
        #expect(try repo.listIndexFileNames().count == 1, "the caller writes the index that names the new pack")
    }
}
