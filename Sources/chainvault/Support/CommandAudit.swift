import Foundation
import Glibc
import VaultDaemon

/// Changes an operator makes by hand go into the same hash-chained audit log as the daemon's
/// jobs: `$CHAINVAULT_AUDIT_LOG`, else the daemon's /var/lib/chainvault/audit.log when it exists
/// and this user may write it. Read-only commands are not recorded.
enum CommandAudit {
    static func action(_ command: String, _ args: Arguments) -> String? {
        switch command {
        case "backup", "restore", "forget", "repair": return command
        case "key": return ["add", "remove"].contains(args.positionals.first ?? "") ? "key " + args.positionals[0] : nil
        case "unlock": return "unlock"
        default: return nil
        }
    }

    static func record(_ command: String, _ args: Arguments, result: String, error: String?) {
        guard let action = action(command, args) else { return }
        let env = ProcessInfo.processInfo.environment
        let path = env["CHAINVAULT_AUDIT_LOG"].flatMap { $0.isEmpty ? nil : $0 } ?? "/var/lib/chainvault/audit.log"
        guard access(path, W_OK) == 0 else { return }
        var details: [String: String] = [:]
        if let repo = args.value("--repo") ?? env["CHAINVAULT_REPOSITORY"] { details["repository"] = repo }
        for flag in ["--target", "--path", "--keep-last", "--keep-daily", "--keep-weekly", "--keep-monthly"] {
            if let v = args.value(flag) { details[String(flag.dropFirst(2))] = v }
        }
        if args.has("--prune") { details["prune"] = "yes" }
        if let error { details["error"] = error }
        let user = env["SUDO_USER"].map { "\($0) via sudo" } ?? env["USER"] ?? String(getuid())
        let subject = args.positionals.filter { $0 != "add" && $0 != "remove" }.joined(separator: " ")
        _ = try? AuditLog(path: path).append(
            actor: "\(user) (cli)", action: action, subject: subject.isEmpty ? "-" : subject, result: result,
            details: details)
    }
}
