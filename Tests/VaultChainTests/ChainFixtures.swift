import Foundation
import VaultChain
import VaultCore

/// Scratch directories for chain tests, holding copies of the shared real-data fixtures
/// (read-only there) or chains our generator writes.
final class ChainScratch {
    let root: String

    static let fixtures: String = {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { dir.deleteLastPathComponent() }
        return dir.appendingPathComponent("Tests/ChainFixtures").path
    }()

    init() throws {
        root = NSTemporaryDirectory() + "cv-chain-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// Copies a fixture file to `relative` under the scratch root, writable.
    func copy(_ fixture: String, to relative: String) throws {
        let target = root + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (target as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/" + fixture))
        try bytes.write(to: URL(fileURLWithPath: target))
    }

    func read(_ relative: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: root + "/" + relative)))
    }

    func write(_ relative: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: root + "/" + relative))
    }

    func flipBit(_ relative: String, at offset: Int, mask: UInt8 = 0x10) throws {
        var bytes = try read(relative)
        bytes[offset] ^= mask
        try write(relative, bytes)
    }

    func verify(_ state: inout ChainVerifyState) throws -> ChainReport {
        try BitcoindProfile().verify(DirectoryChainSource(root), state: &state)
    }

    func verify() throws -> ChainReport {
        var state = ChainVerifyState(profile: "bitcoind")
        return try verify(&state)
    }

    /// Record offsets of the mainnet fixture's blocks (plain file: magic, size, block).
    static func recordOffsets(_ bytes: [UInt8]) -> [Int] {
        var offsets: [Int] = []
        var at = 0
        while at + 8 <= bytes.count {
            offsets.append(at)
            let size =
                Int(bytes[at + 4]) | Int(bytes[at + 5]) << 8 | Int(bytes[at + 6]) << 16 | Int(bytes[at + 7]) << 24
            at += 8 + size
        }
        return offsets
    }
}
