import Glibc
import VaultCore
import VaultRepository

enum KeyCommand: Command {
    static let name = "key"
    static let summary = "add, list or remove the keys that open a repository; generate a key file"
    static let help = """
        Usage: chainvault key list
               chainvault key add (--new-key-file FILE | --new-password-file FILE)
               chainvault key add-threshold --threshold M
                      (--new-operator-key NAME=FILE | --new-operator-password NAME=FILE)...
               chainvault key remove ID
               chainvault key generate --output FILE

        Several keys open one repository. 'add' needs a working key (--key-file/--password-file).
        'remove' refuses the last key and the key it was opened with. 'generate' writes a new 256-bit
        key (64 hex digits) to a new file with mode 0600.

        'add-threshold' makes a key for a recovery ceremony: it opens the repository only with the keys
        of M of the N operators named (2 to 8, each with their own key file or passphrase, all given
        once now). To open with it, give each of M operators' keys with the global options
        --operator-key NAME=FILE or --operator-password NAME=FILE (instead of --key-file).
        """
    static let spec = ArgumentSpec(
        valued: [
            "--new-key-file", "--new-password-file", "--output", "--threshold",
            "--new-operator-key", "--new-operator-password"
        ],
        positionalsAllowed: 1...2)

    struct Row: Encodable {
        let id: String; let kind: String; let created: String; let host: String; let user: String; let current: Bool
        var threshold: Int? = nil
        var operators: [String]? = nil
    }

    static func run(_ c: Context) throws -> Int32 {
        let action = c.args.positionals[0]
        switch action {
        case "generate":
            guard let output = c.args.value("--output") else {
                throw VaultError(.usage, "key generate needs --output FILE")
            }
            // 256 random bits as 64 hex digits and a newline: text, so it survives copy and paste
            // and an editor's final newline.
            var random = SecureRandom.bytes(32)
            var bytes = Array((Hex.encode(random) + "\n").utf8)
            wipe(&random)
            defer { wipe(&bytes) }
            let fd = try Posix.open(output, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600, code: .usage)
            defer { Posix.close(fd) }
            try bytes.withUnsafeBytes { try Posix.writeAll(fd, $0, path: output) }
            try Posix.fsync(fd, path: output)
            // The new name too: a key lost to a power cut after 'init' used it locks the repository for good.
            try Posix.fsyncDirectory(Path.parent(Path.absolute(output)))
            if c.out.json { c.out.emit(["written": output, "mode": "0600"]); return 0 }
            c.out.line(
                "wrote a new 256-bit key (64 hex digits) to \(output) (mode 0600); keep a copy somewhere safe: without a key the repository cannot be read"
            )
            return 0
        case "list":
            let repo = try c.openRepository()
            let rows = try repo.listKeys().map {
                Row(
                    id: $0.id, kind: $0.kind, created: $0.created, host: $0.hostname, user: $0.username,
                    current: $0.id == repo.keyID.hex,
                    threshold: $0.threshold, operators: $0.threshold == nil ? nil : $0.operators)
            }
            if c.out.json {
                c.out.emit(rows)
            } else {
                for r in rows {
                    // A threshold key shows as M-of-N, which fits the 8-column kind.
                    let kind = r.threshold.map { "\($0)-of-\(r.operators?.count ?? 0)" } ?? r.kind
                    var line =
                        "\(r.current ? "*" : " ") \(r.id.prefix(12))  \(kind.padding(toLength: 8, withPad: " ", startingAt: 0))  \(r.created.prefix(19))  \(r.user)@\(r.host)"
                    if let ops = r.operators { line += "  threshold: \(ops.joined(separator: ", "))" }
                    c.out.line(line)
                }
            }
            return 0
        case "add-threshold":
            return try addThreshold(c)
        case "add":
            let repo = try c.openRepository()
            let new: Credential
            if let f = c.args.value("--new-key-file") {
                new = try Credential.keyFile(f)
            } else if let f = c.args.value("--new-password-file") {
                new = try Credential.passwordFile(f)
            } else {
                throw VaultError(.usage, "key add needs --new-key-file FILE or --new-password-file FILE")
            }
            let id = try repo.addKey(new)
            if c.out.json { c.out.emit(["added": id]); return 0 }
            c.out.line("added key \(id.hex.prefix(12))")
            return 0
        case "remove":
            guard c.args.positionals.count == 2 else {
                throw VaultError(.usage, "key remove needs the key ID (see 'chainvault key list')")
            }
            let repo = try c.openRepository()
            let lock = try c.lock(repo, exclusive: true)
            defer { lock.release() }
            try repo.removeKey(c.args.positionals[1])
            if c.out.json { c.out.emit(["removed": c.args.positionals[1]]); return 0 }
            c.out.line("removed key \(c.args.positionals[1])")
            return 0
        default:
            throw VaultError(
                .usage, "unknown key action '\(action)'", hint: "use list, add, add-threshold, remove or generate")
        }
    }

    static func addThreshold(_ c: Context) throws -> Int32 {
        guard let m = c.args.value("--threshold") else {
            throw VaultError(
                .usage, "key add-threshold needs --threshold M", hint: "e.g. --threshold 2 with three operators")
        }
        guard let threshold = Int(m), threshold >= 1 else {
            throw VaultError(.usage, "--threshold needs a whole number from 1, got '\(m)'")
        }
        let given =
            c.args.all("--new-operator-key").map { ($0, false) }
            + c.args.all("--new-operator-password").map { ($0, true) }
        let operators = try c.operatorSecrets.parse(
            given.map { ($0.0, $0.1, $0.1 ? "--new-operator-password" : "--new-operator-key") },
            environment: c.environment)
        try OperatorKey.checkDistinct(operators)
        let repo = try c.openRepository()
        let id = try repo.addThresholdKey(threshold: threshold, operators: operators)
        let names = operators.map(\.name).sorted()
        let slots = ThresholdKey.slotCount(operators.count, threshold)
        struct Added: Encodable { let added: String; let threshold: Int; let operators: [String]; let slots: Int }
        if c.out.json {
            c.out.emit(Added(added: id.hex, threshold: threshold, operators: names, slots: slots)); return 0
        }
        c.out.line(
            "added threshold key \(id.hex.prefix(12)): any \(threshold) of \(names.joined(separator: ", ")) open it (\(slots) slots)"
        )
        return 0
    }
}
