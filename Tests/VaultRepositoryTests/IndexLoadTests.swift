import Foundation
import Testing
import VaultTestSupport
import VaultCore
import VaultRepository
@_spi(Repository) import VaultStorage

/// The one superseded rule (FORMAT.md §6), as every reader applies it through `loadIndex`.
@Suite struct IndexLoadTests {
    /// A prune stopped between its new index and deleting the old ones, and an old (superseded)
    /// file then damaged: it counts for nothing, so it must stop nothing. Before issue 16 the
    /// repository's loader read it first and failed (restore, backup), while verify skipped it.
    @Test func aDamagedSupersededIndexFileIsSkippedAndADamagedLiveOneIsReported() throws {
        let (repo, backend) = try newRepository()
        let data: [UInt8] = Array(repeating: 9, count: 4000)
        let pack = try writePack(repo, [data])
        let old = try #require(try repo.listIndexFileNames().first)
        try repo.writeIndex(IndexFile(packs: [pack.indexed], supersedes: [try #require(IndexID(hex: old))]))
        backend.tamper(ObjectHandle(.index, old)) { $0[$0.count / 2] ^= 1 }

        let reopened = try Repository.open(backend, credential: keyCredential())
        let load = try reopened.loadIndex()
        #expect(load.listed.count == 2 && load.damaged.isEmpty)
        #expect(try reopened.readBlob(SHA256.hash(data), codec: reopened.makeCodec()) == data)

        // A damaged file nothing supersedes: an error naming it, or (verify) reported and skipped.
        let other = try writePack(reopened, [[1, 2, 3]])
        let live = try #require(
            try reopened.listIndexFileNames().first { name in
                name != old
                    && IndexID(hex: name).flatMap { try? reopened.readIndexFile($0) }?.packs.first?.id == other.id
            })
        backend.tamper(ObjectHandle(.index, live)) { $0[$0.count / 2] ^= 1 }
        let error = #expect(throws: VaultError.self) { try reopened.loadIndex() }
        #expect(
            error?.code == .corrupt && error?.message.contains(String(live.prefix(8))) == true,
            "\(String(describing: error))")
        let reported = try reopened.loadIndex(reportingDamage: true)
        #expect(reported.damaged.map(\.name) == [live])
        #expect(try reopened.readBlob(SHA256.hash(data), codec: reopened.makeCodec()) == data)
    }

    /// `visit` sees only the files that count: a superseded file's packs are dropped (`restart`).
    @Test func visitorsSeeOnlyTheFilesThatCount() throws {
        let (repo, backend) = try newRepository()
        let gone = try writePack(repo, [[7, 7, 7]])
        let kept = try writePack(repo, [[8, 8, 8]])
        let names = try repo.listIndexFileNames()
        try repo.writeIndex(IndexFile(packs: [kept.indexed], supersedes: names.compactMap { IndexID(hex: $0) }))
        let reopened = try Repository.open(backend, credential: keyCredential())
        var seen = Set<PackID>()
        try reopened.loadIndex(visit: { file in for p in file.packs { seen.insert(p.id) } }, restart: { seen = [] })
        #expect(seen == [kept.id])
        #expect(!reopened.index.contains(SHA256.hash([7, 7, 7] as [UInt8])) && reopened.index.packs == [kept.id])
        _ = gone
    }
}
