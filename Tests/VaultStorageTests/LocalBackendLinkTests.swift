import Foundation
import Glibc
import Testing
import VaultCore
@_spi(Repository) import VaultStorage

/// Hostile storage (issue 14): whoever can write a repository's disk replaces one of its
/// directories by a symlink to a directory of their choice. No operation may read, list, write or
/// delete through it.
enum PlantedLink: String, CaseIterable, CustomTestStringConvertible {
    case locks, index, snapshots, keys, fanOut = "data/3f"
    var testDescription: String { rawValue }
    var kind: ObjectKind {
        switch self {
        case .locks: return .lock
        case .index: return .index
        case .snapshots: return .snapshot
        case .keys: return .key
        case .fanOut: return .pack
        }
    }
}

@Test(arguments: PlantedLink.allCases)
func aDirectoryReplacedByASymlinkIsRefusedByEveryOperation(_ link: PlantedLink) throws {
    let base = NSTemporaryDirectory() + "cv-link-" + UUID().uuidString.prefix(8)
    defer { try? FileManager.default.removeItem(atPath: base) }
    let backend = LocalBackend(path: base + "/repo")
    try backend.create()
    // The victim: a directory outside the repository with a file named like an object of that kind.
    let victim = base + "/victim"
    try FileManager.default.createDirectory(atPath: victim, withIntermediateDirectories: true)
    let name = "3f" + String(repeating: "ab", count: 31)
    let stale = ".tmp-old"
    #expect(FileManager.default.createFile(atPath: victim + "/" + name, contents: Data("precious".utf8)))
    #expect(
        FileManager.default.createFile(
            atPath: victim + "/" + stale, contents: Data("precious".utf8),
            attributes: [.modificationDate: Date(timeIntervalSince1970: 1000)]))
    try FileManager.default.removeItem(atPath: base + "/repo/" + link.rawValue)
    try FileManager.default.createSymbolicLink(atPath: base + "/repo/" + link.rawValue, withDestinationPath: victim)

    let handle = ObjectHandle(link.kind, name)
    for (what, op) in [
        ("list", { _ = try backend.list(link.kind) }), ("read", { _ = try backend.read(handle) }),
        ("stat", { _ = try backend.stat(handle) }), ("delete", { try backend.delete(handle) }),
        ("write", { try backend.write(ObjectHandle(link.kind, "3f" + String(repeating: "cd", count: 31)), [1]) })
    ]
        as [(String, () throws -> Void)]
    {
        let error = #expect(throws: VaultError.self, "\(what) through \(link.rawValue)") { try op() }
        #expect(error?.code == .unsafeInput, "\(what): \(String(describing: error))")
        #expect(error?.message.contains("is a symbolic link") == true, "\(what): \(String(describing: error))")
        #expect(error?.message.contains("never follows links inside a repository") == true)
    }
    backend.removeStaleTemporaries(olderThan: 60)
    // Nothing outside was touched: both files are there, and nothing was added.
    #expect(try FileManager.default.contentsOfDirectory(atPath: victim).sorted() == [stale, name].sorted())
}

@Test func anObjectReplacedByASymlinkIsNeitherReadNorListed() throws {
    let base = NSTemporaryDirectory() + "cv-link-" + UUID().uuidString.prefix(8)
    defer { try? FileManager.default.removeItem(atPath: base) }
    let backend = LocalBackend(path: base + "/repo")
    try backend.create()
    #expect(FileManager.default.createFile(atPath: base + "/secret", contents: Data("secret".utf8)))
    try FileManager.default.createSymbolicLink(
        atPath: base + "/repo/snapshots/abcd", withDestinationPath: base + "/secret")
    #expect(try backend.list(.snapshot).isEmpty)
    let error = #expect(throws: VaultError.self) { try backend.read(ObjectHandle(.snapshot, "abcd")) }
    #expect(error?.code == .unsafeInput)
}
