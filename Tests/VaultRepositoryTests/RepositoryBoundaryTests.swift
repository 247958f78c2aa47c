import Foundation
import Testing

/// Issue 16: VaultRepository is the only writer. The compiler keeps `Repository.backend`,
/// `Repository.master` and `ObjectHandle.init` behind SPIs (`@_spi(Testing)`, `@_spi(Repository)`);
/// this test keeps the layers above from opting into them, or from naming storage objects at all.
@Suite struct RepositoryBoundaryTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Sources").path
    static let above = ["VaultEngine", "VaultDaemon", "chainvault", "VaultChain"]

    /// Every line of every Swift file under `Sources/<module>`, with its place.
    static func lines(of module: String) throws -> [(place: String, text: String)] {
        let root = sources + "/" + module
        guard let walk = FileManager.default.enumerator(atPath: root) else { return [] }
        var out: [(String, String)] = []
        for case let file as String in walk where file.hasSuffix(".swift") {
            let text = try String(contentsOfFile: root + "/" + file, encoding: .utf8)
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                out.append(("\(module)/\(file):\(n + 1)", String(line)))
            }
        }
        return out
    }

    @Test func noLayerAboveTheRepositoryTouchesStorageObjectsOrItsKey() throws {
        var found: [String] = []
        for module in Self.above {
            let all = try Self.lines(of: module)
            #expect(!all.isEmpty, "no sources found for \(module) under \(Self.sources)")
            for (place, text) in all {
                let code = text.components(separatedBy: "//").first ?? text
                if code.contains("@_spi(") || code.contains("ObjectHandle") || code.contains(".master") {
                    found.append("\(place): \(text.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        #expect(found.isEmpty, "storage objects named above VaultRepository:\n\(found.joined(separator: "\n"))")
    }

    /// One snapshot deletion (`Repository.forget`): nothing else deletes a snapshot object.
    @Test func snapshotsAreDeletedInOnePlace() throws {
        let all = try Self.lines(of: "VaultRepository")
        let deletions = all.filter { $0.text.contains("delete(ObjectHandle(.snapshot") }
        #expect(
            deletions.count == 1 && deletions[0].place.contains("Repository+Forget.swift"),
            "\(deletions.map(\.place))")
    }

    /// One pack-writing loop (`Repository.withBlobSaver`): nothing above VaultRepository names a
    /// pack writer, and inside it only the saver opens and stores packs.
    @Test func packsAreWrittenByTheBlobSaverAlone() throws {
        var found: [String] = []
        for module in Self.above + ["VaultRepository"] {
            for (place, text) in try Self.lines(of: module) {
                let code = text.components(separatedBy: "//").first ?? text
                let inSaver = place.hasPrefix("VaultRepository/Saver/") || place.contains("Repository+BlobSaver.swift")
                if !inSaver,
                    code.contains("newPackWriter(") || code.contains("storePack(") || code.contains("PackWriter(")
                {
                    found.append("\(place): \(text.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        #expect(found.isEmpty, "packs written outside the blob saver:\n\(found.joined(separator: "\n"))")
    }

    /// The layers above open a store and hand it to `Repository` (`open`, `initialize`, lock
    /// removal); none calls a store's methods itself (issue 16 counted 13 such calls).
    @Test func noLayerAboveTheRepositoryCallsAStore() throws {
        let call = try Regex(#"backend(\(\))?\.[a-zA-Z]|\.list\(\.(config|key|pack|index|snapshot|lock|audit)\b"#)
        var found: [String] = []
        for module in Self.above {
            for (place, text) in try Self.lines(of: module) {
                let code = text.components(separatedBy: "//").first ?? text
                if code.contains(call) { found.append("\(place): \(text.trimmingCharacters(in: .whitespaces))") }
            }
        }
        #expect(found.isEmpty, "storage calls above VaultRepository:\n\(found.joined(separator: "\n"))")
    }

    /// One rule for superseded index files (`Repository.loadIndex`, FORMAT.md §6): nothing else
    /// reads what an index file supersedes (there were three copies, then a fourth in pack repair).
    @Test func supersededIndexFilesAreDecidedInOnePlace() throws {
        var found: [String] = []
        for module in Self.above + ["VaultRepository"] {
            for (place, text) in try Self.lines(of: module) {
                let code = text.components(separatedBy: "//").first ?? text
                let allowed =
                    place.hasPrefix("VaultRepository/Index/IndexFile.swift")
                    || place.hasPrefix("VaultRepository/Repository+IndexLoad.swift")
                if !allowed, code.contains(".supersedes") {
                    found.append("\(place): \(text.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        #expect(found.isEmpty, "superseded index files decided outside loadIndex:\n\(found.joined(separator: "\n"))")
    }
}
