import Foundation
import Testing
import VaultCore

/// `forget --prune --dry-run` must announce exactly what the real run then does (issue 15).
struct PruneDryRunTests {
    /// Every object in the repository with its size: a dry run must leave this unchanged.
    static func listing(_ root: String) -> [String: Int] {
        var out: [String: Int] = [:]
        for case let rel as String in FileManager.default.enumerator(atPath: root)?.allObjects ?? [] {
            guard !rel.hasPrefix("locks"),
                let a = try? FileManager.default.attributesOfItem(atPath: root + "/" + rel),
                a[.type] as? FileAttributeType == .typeRegular
            else { continue }
            out[rel] = (a[.size] as? Int) ?? -1
        }
        return out
    }

    @Test func theDryRunFiguresAreTheRealRunsFigures() throws {
        let w = try Workspace()
        try w.ok(["init"])
        try w.write("src/a.dat", SecureRandom.bytes(3_000_000))
        try w.write("src/b.dat", SecureRandom.bytes(3_000_000))
        try w.ok(["backup", w.path("src")])
        // A new a.dat: the first snapshot's a.dat is then used by nothing, its pack only half.
        try w.write("src/a.dat", SecureRandom.bytes(3_000_000))
        try w.ok(["backup", w.path("src")])

        let before = Self.listing(w.repo)
        let dry = try w.ok(["forget", "--keep-last", "1", "--prune", "--dry-run", "--json"])
        #expect(Self.listing(w.repo) == before, "the dry run changed the repository")
        let dryText = try w.ok(["forget", "--keep-last", "1", "--prune", "--dry-run"])
        let real = try w.ok(["forget", "--keep-last", "1", "--prune", "--json"])

        let dryPrune = dry.json["prune"] as? [String: Any] ?? [:]
        let realPrune = real.json["prune"] as? [String: Any] ?? [:]
        for key in ["packsDeleted", "packsRepacked", "packsKept", "bytesFreed", "blobsRepacked", "youngPacksKept"] {
            #expect(dryPrune[key] as? Int != nil, "dry run has no \(key): \(dry.stdout)")
            #expect(dryPrune[key] as? Int == realPrune[key] as? Int, "\(key): dry \(dry.stdout) real \(real.stdout)")
        }
        #expect((realPrune["packsRepacked"] as? Int ?? 0) > 0, "the scenario must repack: \(real.stdout)")
        #expect((realPrune["bytesFreed"] as? Int ?? 0) > 2_000_000, "\(real.stdout)")
        #expect(dry.json["removed"] as? [String] == real.json["removed"] as? [String])
        #expect((real.json["removed"] as? [String])?.count == 1)
        #expect(
            dryText.stdout.contains(
                "prune (dry run): \(dryPrune["packsDeleted"] ?? -1) packs deleted, "
                    + "\(dryPrune["packsRepacked"] ?? -1) repacked"), "\(dryText.stdout)")
    }
}
