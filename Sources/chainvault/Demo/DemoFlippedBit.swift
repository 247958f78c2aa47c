import Foundation
import VaultChain
import VaultCore
import VaultEngine
import VaultRepository

/// The demo's proof that the chain check sees what byte-level checks cannot (issue 13): one bit
/// flipped inside a block of the restored copy is backed up as a snapshot of its own; that
/// snapshot passes `verify --read-data` (the repository holds exactly the bytes that were read)
/// and its chain check fails, naming the block file, offset and height.
enum DemoFlippedBit {
    struct Outcome {
        var snapshot: String
        var byteLevelClean: Bool
        var chain: ChainReport
    }

    static func run(_ directory: String, repository: Repository, cancellation: Cancellation) throws -> Outcome {
        try flip(in: directory)
        let backup = try Archiver(
            repository: repository, options: BackupOptions(source: directory),
            cancellation: cancellation
        ).run()
        var options = VerifyOptions()
        options.readData = .all
        options.snapshots = [backup.snapshotID.hex]
        let verify = try Checker(repository: repository, options: options).run()
        let source = DirectoryChainSource(directory)
        guard let profile = try ChainCheckRunner.profile(named: "bitcoind", for: source) else {
            throw VaultError(.failure, "the bitcoind chain profile is missing", hint: "report this build as broken")
        }
        let chain = try ChainCheckRunner.run(profile, source: source, statePath: nil)
        return Outcome(snapshot: backup.snapshotID.shortHex, byteLevelClean: verify.clean, chain: chain)
    }

    /// Flips the lowest bit of the byte 150 bytes into the second block of `blocks/blk00000.dat`
    /// (past its 80-byte header, in its transactions): the record still parses as far as its size
    /// goes, only the block's own hashes can tell. A bit flipped on disk flips the same bit of the
    /// de-obfuscated byte, whatever the `xor.dat` key.
    static func flip(in directory: String) throws {
        let path = directory + "/blocks/blk00000.dat"
        var key = [UInt8](repeating: 0, count: 8)
        if let xor = try? Posix.readFile(directory + "/blocks/xor.dat"), xor.count == 8 { key = xor }
        var bytes = try Posix.readFile(path)
        guard bytes.count >= 8 else {
            throw VaultError(.failure, "\(path) holds no block record", hint: "run the demo with a larger --size")
        }
        var size = 0
        for i in 0..<4 { size |= Int(bytes[4 + i] ^ key[4 + i]) << (8 * i) }
        let target = 8 + size + 8 + 150
        guard target < bytes.count else {
            throw VaultError(.failure, "\(path) holds a single block", hint: "run the demo with a larger --size")
        }
        bytes[target] ^= 0x01
        try bytes.withUnsafeBytes { try Posix.writeFileAtomically(path, $0, mode: 0o644) }
    }
}
