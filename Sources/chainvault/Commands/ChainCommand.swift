import Foundation
import VaultChain
import VaultCore
import VaultEngine

enum ChainCommand: Command {
    static let name = "chain"
    static let summary = "check that a node's data directory holds a valid chain"
    static let help = """
        Usage: chainvault chain verify DIR [--chain NAME|none] [--state FILE] [--full] [--json]
               chainvault chain generate DIR --blocks N [--transactions T] [--payload BYTES] [--seed S]
                                         [--key HEX|none] [--preallocate]

        Checks the chain itself, not only the bytes: for Bitcoin Core (profile bitcoind) every block's
        header hash, proof of work, merkle root and witness commitment, every undo record's checksum,
        and the best chain from the network's genesis block. The profile is detected from the layout
        unless --chain names it. Incremental: per file the offset already verified is kept in the state
        file (default: in the state directory, keyed by DIR's real path), so the next run reads only
        what was appended; bytes changed before a verified offset are reported as corruption.
          --chain NAME   the profile (bitcoind), or none
          --state FILE   where the incremental state is kept
          --full         ignore the saved state and check everything (the state is then renewed)
        Exit 0 when the chain is valid, 14 when a problem was found (each printed with its file,
        offset, height and block hash), 2 when no profile fits DIR.
        'chain generate' writes a valid regtest chain of N blocks into DIR/blocks (for benchmarks and
        tests; the same seed writes the same bytes, so a larger N over an existing DIR appends).
        --key gives xor.dat's 8 bytes (16 hex digits; none: no xor.dat, as before Bitcoin Core 28);
        --preallocate extends the files with a raw zero tail as a node does (16 MiB blk, 1 MiB rev).
        """
    static let spec = ArgumentSpec(
        valued: ["--chain", "--state", "--blocks", "--transactions", "--payload", "--seed", "--key"],
        flags: ["--full", "--preallocate"], positionalsAllowed: 2...2)

    static func run(_ c: Context) throws -> Int32 {
        if c.args.positionals[0] == "generate" { return try generate(c, c.args.positionals[1]) }
        guard c.args.positionals[0] == "verify" else {
            throw VaultError(
                .usage, "unknown chain action '\(c.args.positionals[0])'",
                hint: "use 'chainvault chain verify DIR' or 'chainvault chain generate DIR --blocks N'")
        }
        let directory = c.args.positionals[1]
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw VaultError(.sourceUnreadable, "\(directory) is not a directory", hint: "pass a node's data directory")
        }
        let source = DirectoryChainSource(directory)
        guard let profile = try ChainCheckRunner.profile(named: c.args.value("--chain"), for: source) else {
            if c.args.value("--chain") == "none" { c.out.line("no chain check (--chain none)"); return 0 }
            throw VaultError(
                .usage, "no chain profile recognises \(directory)",
                hint: "pass --chain NAME (bitcoind), or check that DIR is the node's data directory")
        }
        let statePath =
            c.args.value("--state")
            ?? ChainCheckRunner.defaultStatePath(
                for: directory,
                stateDirectory: ChainCheckRunner.stateDirectory(environment: c.environment))
        if c.args.has("--full") { _ = try? Posix.unlink(statePath) }
        let started = Date()
        let report = try ChainCheckRunner.run(profile, source: source, statePath: statePath)
        let seconds = Date().timeIntervalSince(started)
        if c.out.json {
            c.out.emit(report)
        } else {
            for p in report.problems where p.kind != .info { c.out.line(p.line) }
            for p in report.problems where p.kind == .info { c.out.line(p.line) }
            let height = report.height.map(String.init) ?? "unknown"
            c.out.line(
                "\(profile.name): \(report.valid ? "valid" : "INVALID"), height \(height), tip \(report.tipHash ?? "none")"
            )
            c.out.line(
                "  checked \(Format.bytes(Int(report.bytesChecked))) in \(Format.duration(seconds)), "
                    + "\(Format.rate(report.bytesChecked, seconds))")
        }
        return report.valid ? 0 : ErrorCode.corrupt.rawValue
    }

    /// Regtest blocks the size of busy mainnet ones by default (~1 MB: 2,500 transactions of ~400
    /// bytes), in 128 MiB files, obfuscated with a fixed xor.dat key, like a v28 node's.
    static func generate(_ c: Context, _ directory: String) throws -> Int32 {
        let blocks = try c.args.int("--blocks", default: 100)
        var key: [UInt8]? = [0x5a, 0x17, 0xc3, 0x08, 0x9e, 0x41, 0xb2, 0x6d]
        if let hex = c.args.value("--key") {
            let digits = Array(hex.utf8)
            let bytes = stride(from: 0, to: digits.count - 1, by: 2).compactMap {
                UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)
            }
            guard hex == "none" || (digits.count == 16 && bytes.count == 8) else {
                throw VaultError(
                    .usage, "--key \(hex) is not 16 hex digits",
                    hint: "give xor.dat's 8 bytes, e.g. --key 5a17c3089e41b26d, or none")
            }
            key = hex == "none" ? nil : bytes
        }
        let writer = try RegtestChainWriter(
            directory: directory + "/blocks", key: key,
            seed: UInt64(try c.args.int("--seed", default: 1)),
            preallocate: c.args.has("--preallocate"))
        try writer.append(
            blocks, transactions: max(2, try c.args.int("--transactions", default: 2500)),
            payload: max(1, try c.args.int("--payload", default: 330)))
        c.out.line("height \(writer.height), tip \(writer.tipHash)")
        return 0
    }
}
