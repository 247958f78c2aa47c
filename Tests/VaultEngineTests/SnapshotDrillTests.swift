import Foundation
import Glibc
import Testing
import VaultTestSupport
import VaultCore
import VaultEngine
import VaultRepository
@_spi(Repository) import VaultStorage

/// Every path under `root` with its type and size: what a drill must leave exactly as it was.
private func listing(_ root: String) -> [String: String] {
    var out: [String: String] = [:]
    for case let rel as String in FileManager.default.enumerator(atPath: root)?.allObjects ?? [] {
        var st = stat()
        lstat(root + "/" + rel, &st)
        out[rel] = "\(st.st_mode & S_IFMT) \(st.st_size)"
    }
    return out
}

/// A source with a shared chunk (two files with one content), a hole and a deep directory,
/// backed up into a local repository under `dir`.
private func backedUp(_ dir: String) throws -> (Repository, SnapshotRecord) {
    let same = SecureRandom.bytes(1_500_000)
    try FileManager.default.createDirectory(atPath: dir + "/src/a/b/c", withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: dir + "/src/one.bin", contents: Data(same))
    _ = FileManager.default.createFile(atPath: dir + "/src/a/b/c/two.bin", contents: Data(same))
    _ = FileManager.default.createFile(atPath: dir + "/src/a/small", contents: Data(SecureRandom.bytes(3000)))
    let sparse = open(dir + "/src/sparse", O_CREAT | O_WRONLY, 0o644)
    _ = ftruncate(sparse, 8 << 20)
    close(sparse)
    let repo = try Repository.initialize(LocalBackend(path: dir + "/repo"), credential: keyCredential())
    _ = try Archiver(repository: repo, options: BackupOptions(source: dir + "/src")).run()
    return (repo, try repo.resolveSnapshot("latest"))
}

/// A drill reads the whole snapshot (every file, every distinct chunk, the bytes a restore would
/// write) and writes nothing: no file appears or changes anywhere in the test's directory, the
/// repository and the source included.
@Test func aDrillChecksEveryChunkAndWritesNothing() throws {
    let dir = temporaryDirectory("cv-engine")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (repo, snapshot) = try backedUp(dir)
    let before = listing(dir)
    let cwd = FileManager.default.currentDirectoryPath
    let cwdBefore = listing(cwd).count
    let result = try SnapshotDrill(repository: repo).run(snapshot)
    #expect(listing(dir) == before, "the drill wrote nothing")
    #expect(listing(cwd).count == cwdBefore)
    #expect(result.files == 4 && result.directories == 4)
    #expect(result.bytes == 1_500_000 * 2 + 3000 + (8 << 20), "every file's size, the hole included")
    #expect(result.bytesFetched == 1_500_000 + 3000, "each distinct chunk is read once, the hole not at all")
    let codec = repo.makeCodec()
    let chunks = Set(
        try repo.loadTree(snapshot.snapshot.tree, codec: codec).nodes.flatMap(\.chunks)
            + (try repo.loadTree(
                repo.loadTree(snapshot.snapshot.tree, codec: codec).node(named: Array("a".utf8))!.subtree!,
                codec: codec
            ).nodes.flatMap(\.chunks)))
    #expect(result.chunks == UInt64(chunks.count))
    #expect(result.seconds > 0 && result.bytesPerSecond > 0)
}

/// One flipped byte in a data chunk of a pack: the drill fails as corrupt and names the chunk,
/// its file and its pack.
@Test func aDrillOfADamagedPackFailsNamingTheChunk() throws {
    let dir = temporaryDirectory("cv-engine")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (repo, snapshot) = try backedUp(dir)
    try repo.loadIndex()
    let small = try repo.loadTree(
        repo.loadTree(snapshot.snapshot.tree, codec: repo.makeCodec()).node(named: Array("a".utf8))!.subtree!,
        codec: repo.makeCodec()
    ).node(named: Array("small".utf8))!
    let chunk = small.chunks[0]
    let location = try #require(repo.index.lookup(chunk))
    let packPath = dir + "/repo/" + ObjectHandle(.pack, location.pack.hex).relativePath
    let fd = open(packPath, O_RDWR)
    var byte: UInt8 = 0
    _ = pread(fd, &byte, 1, off_t(location.entry.offset) + 20)
    byte ^= 0x40
    _ = pwrite(fd, &byte, 1, off_t(location.entry.offset) + 20)
    close(fd)
    let error = #expect(throws: VaultError.self) { try SnapshotDrill(repository: repo).run(snapshot) }
    #expect(error?.code == .corrupt)
    #expect(
        error?.message.hasPrefix(
            "restore drill: chunk \(chunk.shortHex) of a/small (pack \(location.pack.hex.prefix(8))):") == true,
        "\(error?.message ?? "")")
}
