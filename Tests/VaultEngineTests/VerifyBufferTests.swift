import VaultTestSupport
import Foundation
import Testing
import VaultCore
import VaultEngine
import VaultRepository
@_spi(Repository) import VaultStorage

/// A local repository of ~20 packs of varied sizes (1 MiB target, random data of 21 MiB).
private func localManyPackRepository() throws -> (dir: String, backend: LocalBackend) {
    let dir = temporaryDirectory("cv-engine")
    try FileManager.default.createDirectory(atPath: dir + "/src", withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: dir + "/src/blk.dat", contents: Data(SecureRandom.bytes(21 << 20)))
    _ = FileManager.default.createFile(atPath: dir + "/src/small.json", contents: Data(#"{"a": 1}"#.utf8))
    let backend = LocalBackend(path: dir + "/repo")
    try backend.create()
    var config = RepositoryConfig.new()
    config.packSize = 1 << 20
    let repo = try Repository.initialize(backend, credential: keyCredential(), config: config)
    _ = try Archiver(repository: repo, options: BackupOptions(source: dir + "/src")).run()
    return (dir, backend)
}

private func verifyAll(_ backend: Backend, workers: Int) throws -> (VerifyReport, Checker) {
    var options = VerifyOptions()
    options.readData = .all
    options.workers = workers
    let checker = Checker(repository: try Repository.open(backend, credential: keyCredential()), options: options)
    return (try checker.run(), checker)
}

/// `verify --read-data` reads every pack through one buffer (and codec) per worker, not one per
/// pack: 2 workers over 5 or more packs make at most 2.
@Test func verifyReadsEveryPackThroughOneReusedBufferPerWorker() throws {
    let (dir, backend) = try localManyPackRepository()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // How many depends on where the random data's chunks are cut and on which worker's pack each
    // chunk joins; a pack closes once past 1 MiB and a chunk is at most 4 MiB, so 21 MiB make at
    // least 5 packs: more than the 2 buffers allowed below.
    let packs = try backend.list(.pack).count
    #expect(packs >= 5, "\(packs) packs")
    let (report, checker) = try verifyAll(backend, workers: 2)
    #expect(report.clean, "\(report.problems)")
    #expect(report.packsRead == packs)
    #expect(checker.packReadStates >= 1 && checker.packReadStates <= 2, "\(checker.packReadStates) buffers")
}

/// A reused buffer never lends a pack bytes of the one read before it: a pack cut short after the
/// largest pack was read is reported damaged (it must not be padded with the previous pack's tail),
/// and only it.
@Test func aTruncatedPackReadAfterALargerOneIsStillReportedDamaged() throws {
    let (dir, backend) = try localManyPackRepository()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let packs = try backend.list(.pack).sorted { $0.name < $1.name }
    // The last pack read (names are read in order) is cut; the largest is read before it by the one worker.
    let victim = packs.last!
    let path = dir + "/repo/data/" + victim.name.prefix(2) + "/" + victim.name
    #expect(packs.dropLast().contains { $0.size > victim.size })
    #expect(truncate(path, off_t(victim.size - 100)) == 0)
    let (report, checker) = try verifyAll(backend, workers: 1)
    #expect(checker.packReadStates == 1)
    #expect(!report.clean)
    let victimObject = "pack " + victim.name.prefix(8)
    #expect(
        report.problems.allSatisfy { !$0.object.hasPrefix("pack ") || $0.object == victimObject },
        "\(report.problems)")
    #expect(report.problems.contains { $0.object == "pack " + victim.name.prefix(8) })
}

/// The local backend reads into the caller's buffer in place (its storage kept when large enough,
/// its count exactly the object's), and checks the size against `ObjectLimits` before growing it:
/// a planted sparse pack over the limit costs an error, not a gigabyte.
@Test func theLocalBackendReadsIntoAReusedBufferAndBoundsItFirst() throws {
    let (dir, backend) = try localManyPackRepository()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let packs = try backend.list(.pack).sorted { $0.size > $1.size }
    var buffer: [UInt8] = []
    try backend.read(ObjectHandle(.pack, packs[0].name), range: nil, reusing: &buffer)
    #expect(buffer == (try backend.read(ObjectHandle(.pack, packs[0].name))))
    let storage = buffer.withUnsafeBytes { $0.baseAddress }
    try backend.read(ObjectHandle(.pack, packs.last!.name), range: nil, reusing: &buffer)
    #expect(buffer.count == packs.last!.size)
    #expect(buffer == (try backend.read(ObjectHandle(.pack, packs.last!.name))))
    #expect(buffer.withUnsafeBytes { $0.baseAddress } == storage, "the smaller read moved the buffer")

    let planted = String(repeating: "ab", count: 32)
    let path = dir + "/repo/data/ab/" + planted
    #expect(FileManager.default.createFile(atPath: path, contents: nil))
    #expect(truncate(path, off_t(ObjectLimits.maximum(.pack) + 1)) == 0)
    let before = buffer
    #expect(throws: VaultError.self) { try backend.read(ObjectHandle(.pack, planted), range: nil, reusing: &buffer) }
    #expect(buffer == before)
}
