import Foundation
import Testing
import VaultTestSupport
import VaultCore
@_spi(Testing) import VaultRepository
@_spi(Repository) import VaultStorage

/// Writes one data pack with the given plaintexts, indexes it; returns the pack id.
@discardableResult
func writePack(_ repo: Repository, _ blobs: [[UInt8]], type: BlobType = .data) throws -> FinishedPack {
    let codec = repo.makeCodec()
    let writer = try repo.newPackWriter(type: type)
    for b in blobs { _ = try b.withUnsafeBytes { try writer.add(id: SHA256.hash(b), plaintext: $0, codec: codec) } }
    let pack = try writer.finish(codec: codec)
    let bytes = try Posix.readFile(pack.path)
    #expect(SHA256.hash(bytes) == pack.id.digest, "a pack is named by the hash of its bytes")
    try repo.storePack(pack)
    let indexed = pack.indexed
    try repo.writeIndex(IndexFile(packs: [indexed]))
    repo.index.add(indexed)
    return pack
}

@Test func packBlobsRoundTripAndHeaderParses() throws {
    let (repo, _) = try newRepository()
    let compressible = [UInt8](repeating: 65, count: 200_000)
    var rng = SystemRandomNumberGenerator()
    let random = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
    let pack = try writePack(repo, [compressible, random, []])
    #expect(pack.entries.map(\.compression) == [.zstd, .none, .none], "incompressible data is stored raw")
    #expect(pack.entries[0].storedLength < 10_000)
    let codec = repo.makeCodec()
    for b in [compressible, random, []] { #expect(try repo.readBlob(SHA256.hash(b), codec: codec) == b) }
    let header = try repo.readPackHeader(name: pack.id.hex, size: pack.size)
    #expect(header.entries == pack.entries)
}

@Test func aFlippedBitInAPackIsDetectedOnRead() throws {
    let (repo, backend) = try newRepository()
    let data = [UInt8](repeating: 1, count: 5000)
    let pack = try writePack(repo, [data])
    backend.tamper(ObjectHandle(.pack, pack.id.hex)) { $0[60] ^= 0x10 }
    let error = #expect(throws: VaultError.self) { try repo.readBlob(SHA256.hash(data), codec: repo.makeCodec()) }
    #expect(error?.code == .corrupt)
    #expect(error?.message.contains(pack.id.hex.prefix(8)) == true, "the error names the pack")
}

@Test func aTamperedHeaderIsRejected() throws {
    let (repo, backend) = try newRepository()
    let pack = try writePack(repo, [[1, 2, 3]])
    backend.tamper(ObjectHandle(.pack, pack.id.hex)) { $0[$0.count - 10] ^= 1 }
    #expect(throws: VaultError.self) { try repo.readPackHeader(name: pack.id.hex, size: pack.size) }
}

@Test func indexFileRoundTripsAndRejectsTruncation() throws {
    let e = PackEntry(
        type: .tree, compression: .zstd, id: SHA256.hash("x"), offset: 40, storedLength: 99, rawLength: 1234)
    let file = IndexFile(
        packs: [IndexedPack(id: PackID(SHA256.hash("p")), salt: [UInt8](repeating: 3, count: 32), entries: [e, e])],
        supersedes: [IndexID(SHA256.hash("old"))])
    let decoded = try IndexFile.decode(file.encode(), what: "test index")
    #expect(decoded.packs.first?.entries == [e, e])
    #expect(decoded.supersedes == [IndexID(SHA256.hash("old"))])
    let bytes = file.encode()
    for cut in [3, 10, bytes.count - 1] {
        #expect(throws: VaultError.self) { try IndexFile.decode(Array(bytes.prefix(cut)), what: "test index") }
    }
}

@Test func treesEncodeCanonicallyAndRoundTrip() throws {
    let file = Node(
        name: Array("b.dat".utf8), kind: .file, mode: 0o640, uid: 1000, gid: 1000,
        mtimeNanos: 1_700_000_000_123_456_789,
        size: 42, chunks: [SHA256.hash("c1"), SHA256.hash("c2")])
    let dir = Node(name: Array("a".utf8), kind: .directory, mode: 0o755, subtree: SHA256.hash("t"))
    let link = Node(name: Array("c".utf8), kind: .symlink, mode: 0o777, linkTarget: Array("../x".utf8))
    let t1 = Tree(nodes: [file, dir, link]), t2 = Tree(nodes: [link, file, dir])
    #expect(t1.encode() == t2.encode(), "entry order does not change the encoding")
    #expect(try Tree.decode(t1.encode(), what: "t") == t1)
    #expect(t1.node(named: Array("b.dat".utf8))?.chunks.count == 2)
    #expect(t1.node(named: Array("zz".utf8)) == nil)
}

@Test(arguments: ["..", ".", "", "a/b", "x\0y", String(repeating: "n", count: 256)])
func hostileTreeNamesAreRejected(_ name: String) throws {
    var bytes = Tree(nodes: [Node(name: Array("ok".utf8), kind: .file)]).encode()
    // Rewrite the name field in place (u16 length at offset 8, then the bytes).
    let hostile = Array(name.utf8)
    bytes.replaceSubrange(8..<12, with: [UInt8(hostile.count & 0xFF), UInt8(hostile.count >> 8)] + hostile)
    let error = #expect(throws: VaultError.self) { try Tree.decode(bytes, what: "t") }
    #expect(error?.code == .unsafeInput || error?.code == .corrupt)
}

@Test func duplicateOrUnsortedTreeEntriesAreRejected() throws {
    let a = Node(name: Array("a".utf8), kind: .file)
    var tree = Tree(nodes: [])
    tree.nodes = [a, a]
    #expect(throws: VaultError.self) { try Tree.decode(tree.encode(), what: "t") }
}

@Test func snapshotsRoundTripAndDetectTampering() throws {
    let (repo, backend) = try newRepository()
    let snap = Snapshot(
        time: Date(), tree: SHA256.hash("root"), source: "/data", hostname: "h", username: "u",
        tags: ["t"], parent: nil, policy: nil, excludes: [], stats: .init())
    let id = try repo.saveSnapshot(snap)
    #expect(try repo.loadSnapshot(id).snapshot.tree == SHA256.hash("root"))
    #expect(try repo.resolveSnapshot("latest").id == id)
    #expect(try repo.resolveSnapshot(String(id.hex.prefix(6))).id == id)
    #expect((#expect(throws: VaultError.self) { try repo.resolveSnapshot("ffffffff") })?.code == .unknownSnapshot)
    backend.tamper(ObjectHandle(.snapshot, id.hex)) { $0[50] ^= 1 }
    #expect((#expect(throws: VaultError.self) { try repo.loadSnapshot(id) })?.code == .corrupt)
}

@Test func timestampsRoundTripWithNanoseconds() {
    let text = "2026-11-23T01:02:03.123456789Z"
    let date = Timestamp.parse(text)!
    #expect(abs(date.timeIntervalSince1970 - 1_795_395_723.123456789) < 1e-6)
    #expect(Timestamp.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000000000Z")
}
