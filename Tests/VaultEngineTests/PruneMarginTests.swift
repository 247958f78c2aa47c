import Foundation
import Testing
import VaultTestSupport
import VaultCore
import VaultEngine
@_spi(Testing) import VaultRepository
@_spi(Repository) import VaultStorage

/// A pack of `bytes` stored in the repository; indexed or not (as a running backup leaves it).
private func storePack(_ repo: Repository, _ bytes: [UInt8], indexed: Bool) throws -> FinishedPack {
    let codec = repo.makeCodec()
    let writer = try repo.newPackWriter(type: .data)
    _ = try bytes.withUnsafeBytes { try writer.add(id: SHA256.hash(bytes), plaintext: $0, codec: codec) }
    let pack = try writer.finish(codec: codec)
    try repo.storePack(pack)
    if indexed { try repo.writeIndex(IndexFile(packs: [pack.indexed])) }
    return pack
}

@Test func pruneKeepsAYoungUnindexedPackAndDeletesItOnceOldByTheStoresClock() throws {
    let backend = MemoryBackend()
    let repo = try Repository.initialize(backend, credential: keyCredential())
    let running = try storePack(repo, SecureRandom.bytes(10_000), indexed: false)  // a backup still in progress
    let unused = try storePack(repo, SecureRandom.bytes(10_000), indexed: true)  // indexed, no snapshot uses it
    func present(_ p: FinishedPack) throws -> Bool { try backend.stat(ObjectHandle(.pack, p.id.hex)) != nil }

    let first = try Pruner(repository: try Repository.open(backend, credential: keyCredential())).run()
    #expect(first.youngPacksKept == 1)
    #expect(try present(running), "a young pack in no index may be a running backup's: kept")
    #expect(try !present(unused), "an indexed pack no snapshot uses goes at once, as before")

    backend.advanceClock(by: Pruner.defaultYoungPackMargin - 60)
    _ = try Pruner(repository: try Repository.open(backend, credential: keyCredential())).run()
    #expect(try present(running), "still inside the margin")

    backend.advanceClock(by: 120)
    let late = try Pruner(repository: try Repository.open(backend, credential: keyCredential())).run()
    #expect(late.youngPacksKept == 0 && late.packsDeleted == 1)
    #expect(try !present(running), "a leftover older than the margin is deleted")
}

@Test func theYoungPackMarginCanBeSetToZero() throws {
    let backend = MemoryBackend()
    let repo = try Repository.initialize(backend, credential: keyCredential())
    let leftover = try storePack(repo, SecureRandom.bytes(10_000), indexed: false)
    let pruner = Pruner(repository: try Repository.open(backend, credential: keyCredential()))
    pruner.youngPackMargin = 0
    #expect(try pruner.run().packsDeleted == 1)
    #expect(try backend.stat(ObjectHandle(.pack, leftover.id.hex)) == nil)
}
