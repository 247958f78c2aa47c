import VaultTestSupport
import Foundation
import Testing
import VaultCore
import VaultRepository
@_spi(Repository) import VaultStorage

/// Typed ids (issue 16) change no byte on disk: ids are hex strings in JSON, times RFC 3339 text.
struct ObjectIDTests {
    static let tree = String(repeating: "ab", count: 32)
    static let parent = String(repeating: "01", count: 32)
    /// A time as a backup writes it: `Timestamp.format` of a `Date`.
    static let time = Timestamp.format(Date(timeIntervalSince1970: 1_796_173_323.123456))

    /// A snapshot document as chainvault wrote it while these fields were strings (FORMAT.md §8).
    static let written =
        #"{"chain":{},"excludes":[],"hostname":"h","newestSeen":"\#(parent)","parent":"\#(parent)","#
        + #""source":"\/data","stats":{"bytesNew":0,"bytesRead":0,"bytesStored":0,"bytesTotal":0,"chunksNew":0,"#
        + #""directories":0,"durationSeconds":0,"files":0,"filesUnchanged":0,"skipped":[],"symlinks":0},"tags":[],"#
        + #""time":"\#(time)","tree":"\#(tree)","username":"u","version":1}"#

    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    @Test func aSnapshotDocumentReadsIntoTypesAndIsWrittenBackByteForByte() throws {
        let snapshot = try JSONDecoder().decode(Snapshot.self, from: Data(Self.written.utf8))
        #expect(snapshot.tree == SHA256Digest(hex: Self.tree) && snapshot.parent == SnapshotID(hex: Self.parent))
        #expect(snapshot.newestSeen == snapshot.parent && snapshot.original == nil)
        #expect(snapshot.time == Timestamp.parse(Self.time) && Self.time.hasPrefix("2026-12-02T"))
        #expect(try Self.encode(snapshot) == Self.written)
    }

    /// Every time a backup writes (`Timestamp.format` of a `Date`) reads back to the same text.
    @Test func timesChainvaultWritesSurviveTheDate() throws {
        var generator = SplitMix64(seed: 16)
        for _ in 0..<10_000 {
            let date = Date(timeIntervalSince1970: 1_500_000_000 + Double(generator.next() % 1_000_000_000_000) / 1000)
            let text = Timestamp.format(date)
            let json = try Self.encode(RFC3339Time(wrappedValue: try #require(Timestamp.parse(text))))
            #expect(json == "\"\(text)\"", "\(date.timeIntervalSince1970)")
        }
    }

    /// Only a name chainvault writes is an id: 64 lowercase hex digits.
    @Test(arguments: [
        "", "abc", String(repeating: "AB", count: 32), String(repeating: "ab", count: 31),
        String(repeating: "ab", count: 33), String(repeating: "zz", count: 32), "latest"
    ])
    func otherTextIsNoID(_ text: String) throws {
        #expect(
            SnapshotID(hex: text) == nil && PackID(hex: text) == nil && IndexID(hex: text) == nil
                && KeyID(hex: text) == nil)
        let document = Self.written.replacingOccurrences(
            of: "\"parent\":\"\(Self.parent)\"", with: "\"parent\":\"\(text)\"")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Snapshot.self, from: Data(document.utf8)) }
        #expect(
            SnapshotID(hex: Self.parent)?.hex == Self.parent && SnapshotID(hex: Self.parent)?.shortHex == "01010101")
    }

    /// A snapshot memory written before ids were typed may list a stray storage name: dropped, not an error.
    @Test func anOldSnapshotMemoryWithAStrayNameStillLoads() throws {
        let dir = NSTemporaryDirectory() + "cv-memory-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/m.json"
        let old =
            #"{"gone":["stray.tmp","\#(Self.tree)"],"newest":{"g":{"id":"\#(Self.parent)","#
            + #""time":"\#(Self.time)"}},"seen":["\#(Self.parent)","notes"]}"#
        try Array(old.utf8).withUnsafeBytes { try Posix.writeFileAtomically(path, $0, mode: 0o600) }
        let memory = try SnapshotMemory.load(path)
        #expect(memory.seen == [SnapshotID(hex: Self.parent)!] && memory.gone == [SnapshotID(hex: Self.tree)!])
        #expect(memory.newest["g"]?.id.hex == Self.parent)
        try memory.save(path)
        let saved = String(decoding: try Posix.readFile(path), as: UTF8.self)
        #expect(
            saved == #"{"gone":["\#(Self.tree)"],"newest":{"g":{"id":"\#(Self.parent)","#
                + #""time":"\#(Self.time)"}},"seen":["\#(Self.parent)"]}"#)
    }

    /// A stray file in `snapshots/` is still reported as damage, never skipped in silence.
    @Test func aStraySnapshotNameIsReportedAsDamage() throws {
        let (repo, backend) = try newRepository()
        try backend.write(ObjectHandle(.snapshot, "stray"), [1, 2, 3])
        let (good, bad) = try repo.listSnapshotsReportingDamage()
        #expect(good.isEmpty && bad.count == 1 && bad[0].code == .corrupt, "\(bad)")
        #expect(try repo.listSnapshotIDs().isEmpty)
    }
}
