import Foundation
import Testing
import VaultCore

/// Hostile storage plants key files in a passphrase repository (issue 14): one that scrypt cannot
/// derive (n = 3) made every open fail; a legal but huge one (n = 2^20, p = 4) made every open
/// take 15 s and 1 GiB. Both are now skipped with a warning, without being derived.
struct PlantedKeyTests {
    enum Plant: String, CaseIterable, CustomTestStringConvertible {
        case underivable, huge
        var testDescription: String { rawValue }
        var kdf: String {
            switch self {
            case .underivable: return #"{"name":"scrypt","n":3,"r":8,"p":1}"#
            case .huge: return #"{"name":"scrypt","n":1048576,"r":8,"p":4}"#
            }
        }
    }

    /// A well-formed key document with `kdf`, whose name (its SHA-256) sorts before `before`: the
    /// old loop tried keys in name order, so the planted one is met first.
    static func plantedKey(kdf: String, before: String) -> (String, [UInt8]) {
        while true {
            let doc = """
                {"version":1,"kind":"password","created":"2026-01-01T00:00:00Z","hostname":"x","username":"x",
                 "kdf":\(kdf),"salt":"\(Hex.encode(SecureRandom.bytes(32)))","nonce":"\(Hex.encode(SecureRandom.bytes(12)))",
                 "data":"\(Hex.encode(SecureRandom.bytes(48)))"}
                """
            let bytes = Array(doc.utf8)
            let name = SHA256.hash(bytes).hex
            if name < before { return (name, bytes) }
        }
    }

    @Test(arguments: Plant.allCases)
    func aPlantedKeyIsSkippedWithAWarningAndTheRealPassphraseOpens(_ plant: Plant) throws {
        let w = try Workspace()
        try w.write("pass", Array("correct horse battery staple\n".utf8), mode: 0o600)
        let env = ["CHAINVAULT_KEY_FILE": "", "CHAINVAULT_PASSWORD_FILE": w.path("pass")]
        #expect(try w.run(["init"], env: env).code == 0)
        let real = try #require(try FileManager.default.contentsOfDirectory(atPath: w.repo + "/keys").first)
        let (name, bytes) = Self.plantedKey(kdf: plant.kdf, before: real)
        try w.write("repo/keys/" + name, bytes, mode: 0o600)
        let r = try w.run(["snapshots"], env: env)
        #expect(r.code == 0, "\(plant): \(r.code) \(r.stderr)")
        #expect(r.stderr.contains("warning: skipped damaged key file keys/\(name.prefix(8))"), "\(plant): \(r.stderr)")
    }
}
