import Foundation
import VaultChain
import VaultCore
import VaultEngine

enum ChainCommand: Command {
    static let name = "chain"
    static let summary = "check that a node's data directory holds a valid chain"
    static let help = """
    Usage: chainvault chain verify DIR [--chain NAME|none] [--state FILE] [--full] [--json]

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
    """
    static let spec = ArgumentSpec(valued: ["--chain", "--state"], flags: ["--full"], positionalsAllowed: 2...2)

    static func run(_ c: Context) throws -> Int32 {
        guard c.args.positionals[0] == "verify" else {
            throw VaultError(.usage, "unknown chain action '\(c.args.positionals[0])'", hint: "use 'chainvault chain verify DIR'")
        }
        let directory = c.args.positionals[1]
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw VaultError(.sourceUnreadable, "\(directory) is not a directory", hint: "pass a node's data directory")
        }
        let source = DirectoryChainSource(directory)
        guard let profile = try ChainCheckRunner.profile(named: c.args.value("--chain"), for: source) else {
            if c.args.value("--chain") == "none" { c.out.line("no chain check (--chain none)"); return 0 }
            throw VaultError(.usage, "no chain profile recognises \(directory)",
                             hint: "pass --chain NAME (bitcoind), or check that DIR is the node's data directory")
        }
        let statePath = c.args.value("--state")
            ?? ChainCheckRunner.defaultStatePath(for: directory,
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
            c.out.line("\(profile.name): \(report.valid ? "valid" : "INVALID"), height \(height), tip \(report.tipHash ?? "none")")
            c.out.line("  checked \(Format.bytes(Int(report.bytesChecked))) in \(Format.duration(seconds)), "
                       + "\(Format.rate(report.bytesChecked, seconds))")
        }
        return report.valid ? 0 : ErrorCode.corrupt.rawValue
    }
}
