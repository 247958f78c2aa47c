import Foundation
import VaultCore
import VaultDaemon

enum AuditCommand: Command {
    static let name = "audit"
    static let summary = "show the audit log, or prove nothing in it was removed or altered"
    static let help = """
        Usage: chainvault audit [--verify] [--file PATH]
               chainvault audit --from-repository [--verify] --repo REPO

        Shows the hash-chained audit log (default: $STATE_DIRECTORY/audit.log, else
        /var/lib/chainvault/audit.log). --verify checks every entry's hash, its link to the entry
        before it and its sequence number, that the log reaches its anchor (PATH.head, written
        with every entry) and, with --repo, the copy this host's daemon last mirrored into the
        repository: a log cut short is a valid chain, so these show what is missing. Exits 14
        naming each problem.
        --from-repository reads the copies the daemon mirrors into the repository after each job
        (the newest per host), for when the server itself is lost.
        """
    static let spec = ArgumentSpec(
        valued: ["--file"], flags: ["--verify", "--from-repository"], positionalsAllowed: 0...0)

    struct Result: Encodable {
        let file: String; let entries: Int; let intact: Bool; let lastHash: String; let problems: [String]
    }

    static func run(_ c: Context) throws -> Int32 {
        if c.args.has("--from-repository") {
            let mirrors = try c.openRepository().mirroredAudits()
            guard !mirrors.isEmpty else {
                throw VaultError(
                    .usage, "the repository holds no audit log copy", hint: "the daemon writes one after each job")
            }
            var intact = true
            for (host, log) in mirrors {
                let r = AuditLog.verify(bytes: log)
                intact = intact && r.intact
                if c.args.has("--verify") {
                    c.out.line(
                        "\(host): \(r.entries) entries, \(r.intact ? "chain intact" : "CHAIN BROKEN"), last hash \(r.lastHash)"
                    )
                    for p in r.problems { FileHandleStderr.write("\(host): \(p)\n") }
                } else {
                    for e in AuditLog.entries(log) {
                        c.out.line(
                            "\(host)  \(String(e.seq).leftPad(6))  \(e.time.prefix(19))  \(e.actor)  \(e.action) \(e.subject): \(e.result)"
                        )
                    }
                }
            }
            return intact ? 0 : ErrorCode.corrupt.rawValue
        }
        let file =
            c.args.value("--file")
            ?? ((c.environment["STATE_DIRECTORY"].map { $0.split(separator: ":").first.map(String.init) ?? $0 }
                ?? "/var/lib/chainvault") + "/audit.log")
        guard (try? Posix.lstat(file)) != nil else {
            throw VaultError(
                .usage, "no audit log at \(file)", hint: "pass --file PATH; the daemon writes it in its state directory"
            )
        }
        if c.args.has("--verify") {
            var r = try AuditLog.verify(file)
            r.problems += AuditAnchorCheck.problems(c, file: file, report: r)
            if c.out.json {
                c.out.emit(
                    Result(file: file, entries: r.entries, intact: r.intact, lastHash: r.lastHash, problems: r.problems)
                )
            } else if r.intact {
                c.out.line("\(file): \(r.entries) entries, chain intact, last hash \(r.lastHash)")
            }
            for p in r.problems { FileHandleStderr.write("\(file): \(p)\n") }
            return r.intact ? 0 : ErrorCode.corrupt.rawValue
        }
        let entries = try AuditLog.read(file)
        if c.out.json { c.out.emit(entries); return 0 }
        for e in entries {
            let details = e.details.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            c.out.line(
                "\(String(e.seq).leftPad(6))  \(e.time.prefix(19))  \(e.actor)  \(e.action) \(e.subject): \(e.result)\(details.isEmpty ? "" : "  " + details)"
            )
        }
        return 0
    }
}
