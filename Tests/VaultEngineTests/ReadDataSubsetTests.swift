import Foundation
import Testing
import VaultTestSupport
import VaultCore
import VaultEngine
import VaultRepository
import VaultStorage

/// A repository of about 15 small packs (1 MiB target; a chunk may make one larger) in memory (random data: nothing deduplicates).
private func manyPackRepository() throws -> (MemoryBackend, Int) {
    let dir = temporaryDirectory("cv-engine")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir + "/src", withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: dir + "/src/blk.dat", contents: Data(SecureRandom.bytes(21 << 20)))
    let backend = MemoryBackend()
    var config = RepositoryConfig.new()
    config.packSize = 1 << 20
    let repo = try Repository.initialize(backend, credential: keyCredential(), config: config)
    _ = try Archiver(repository: repo, options: BackupOptions(source: dir + "/src")).run()
    return (backend, try backend.list(.pack).count)
}

/// `--read-data-subset N%` reads ⌈N% × packs⌉ packs every time: never none (a coin toss per pack
/// read 0 of 15 in 2 of 4 runs and still reported "no problems found").
@Test func aPercentageSubsetReadsAFixedShareAndAtLeastOnePack() throws {
    let (backend, packs) = try manyPackRepository()
    #expect(packs >= 14, "\(packs) packs")
    let repo = try Repository.open(backend, credential: keyCredential())
    var seen = Set<Int>()
    for (fraction, expected) in [
        (0.10, Int((Double(packs) * 0.1).rounded(.up))), (0.001, 1), (0.5, (packs + 1) / 2), (1.0, packs)
    ] {
        for _ in 0..<12 {
            var options = VerifyOptions()
            options.readData = .fraction(fraction)
            let report = try Checker(repository: repo, options: options).run()
            #expect(report.clean)
            #expect(
                report.packsRead == expected, "\(fraction): read \(report.packsRead) of \(packs), expected \(expected)")
            seen.insert(report.packsRead)
        }
    }
    #expect(!seen.contains(0))
}

/// The daemon names the packs a run reads; packs that no longer exist are skipped, not errors.
@Test func anExplicitPackListReadsExactlyThosePacks() throws {
    let (backend, _) = try manyPackRepository()
    let names = try backend.list(.pack).map(\.name).sorted()
    var options = VerifyOptions()
    options.readData = .packs([names[0], names[3], String(repeating: "0", count: 64)])
    let report = try Checker(repository: try Repository.open(backend, credential: keyCredential()), options: options)
        .run()
    #expect(report.clean && report.packsRead == 2, "\(report.packsRead) \(report.problems)")
}
