import Foundation
import Testing
import VaultCore
import VaultRepository
@_spi(Repository) import VaultStorage

/// A repository written by format v1 and committed (Fixtures/golden-v1). Every future chainvault
/// must keep reading it: change the format only with a new version and a reader for this one.
struct GoldenFixtureTests {
    struct Manifest: Decodable {
        let snapshot: String
        let passphrase: String
        let files: [String: String]
        let symlinks: [String: String]
        let mtimeNanos: [String: Int64]
    }

    let root = Bundle.module.url(forResource: "Fixtures/golden-v1", withExtension: nil)!.path
    var manifest: Manifest {
        try! JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: root + "/manifest.json")))
    }

    func open(_ credential: Credential) throws -> Repository {
        try Repository.open(LocalBackend(path: root + "/repo"), credential: credential)
    }

    @Test func opensWithItsKeyFileAndItsPassphrase() throws {
        var key = Array(try Data(contentsOf: URL(fileURLWithPath: root + "/key")))
        #expect(try open(.keyFile(SecretBytes(consuming: &key))).config.version == 1)
        var pass = Array(manifest.passphrase.utf8)
        #expect(try open(.password(SecretBytes(consuming: &pass))).config.chunker == .standard)
    }

    @Test func everyFileReadsBackWithItsRecordedHashAndMetadata() throws {
        var key = Array(try Data(contentsOf: URL(fileURLWithPath: root + "/key")))
        let repo = try open(.keyFile(SecretBytes(consuming: &key)))
        try repo.loadIndex()
        let snapshots = try repo.listSnapshots()
        #expect(snapshots.map(\.id.hex) == [manifest.snapshot])
        let s = snapshots[0].snapshot
        #expect(s.hostname == "golden" && s.tags == ["fixture"])
        let codec = repo.makeCodec()
        var files: [String: String] = [:], links: [String: String] = [:], mtimes: [String: Int64] = [:]
        func walk(_ id: BlobID, _ path: String) throws {
            for node in try repo.loadTree(id, codec: codec).nodes {
                let p = path + "/" + node.nameString
                switch node.kind {
                case .directory: try walk(node.subtree!, p)
                case .symlink: links[p] = String(decoding: node.linkTarget, as: UTF8.self)
                case .fifo: Issue.record("v1 has no fifos: \(p)")
                case .file:
                    let hasher = SHA256Hasher()
                    for c in node.chunks { hasher.update(try repo.readBlob(c, codec: codec)) }
                    files[p] = hasher.finalize().hex
                    mtimes[p] = node.mtimeNanos
                }
            }
        }
        try walk(s.tree, "")
        #expect(files == manifest.files)
        #expect(links == manifest.symlinks)
        #expect(mtimes["/hello.txt"] == manifest.mtimeNanos["/hello.txt"])
    }

    @Test func everyObjectIsNamedByTheHashOfItsBytes() throws {
        let backend = LocalBackend(path: root + "/repo")
        for kind in [ObjectKind.pack, .index, .snapshot, .key] {
            for info in try backend.list(kind) {
                #expect(
                    SHA256.hash(try backend.read(ObjectHandle(kind, info.name))).hex == info.name,
                    "\(kind) \(info.name)")
            }
        }
    }
}
