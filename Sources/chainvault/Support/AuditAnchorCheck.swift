import Foundation
import VaultCore
import VaultDaemon
import VaultRepository

/// `audit --verify`'s checks beyond the chain itself: the log must reach its anchor
/// (`<log>.head`) and, when a repository is given, the copy the daemon of this host last
/// mirrored there. A log cut after entry N is a valid chain; only these show what is missing.
enum AuditAnchorCheck {
    static func problems(_ c: Context, file: String, report: AuditLog.Report) -> [String] {
        var problems: [String] = []
        do {
            if let anchor = try AuditAnchor.load(for: file) {
                if let p = anchor.problem(with: report, source: "its anchor \(AuditAnchor.path(for: file))") {
                    problems.append(p)
                }
            } else if report.entries > 0 {
                problems.append(
                    "the anchor \(AuditAnchor.path(for: file)) is missing: every append writes it, "
                        + "so it was removed (a cut log cannot be told from a whole one without it)")
            }
        } catch {
            problems.append((error as? VaultError)?.message ?? "\(error)")
        }
        guard (c.args.value("--repo") ?? c.environment["CHAINVAULT_REPOSITORY"]).map({ !$0.isEmpty }) == true else {
            return problems
        }
        do {
            let host = Repository.auditHost(ProcessInfo.processInfo.hostName)
            guard let mirror = try c.openRepository().mirroredAudits().first(where: { $0.host == host }) else {
                return problems
            }
            let copy = AuditLog.verify(bytes: mirror.log)
            let anchor = AuditAnchor(entries: copy.entries, lastHash: copy.lastHash)
            if let p = anchor.problem(with: report, source: "the repository's copy (host \(host))") {
                problems.append(p)
            }
        } catch {
            c.out.warning(
                "the log was not compared with the repository's copy: "
                    + ((error as? VaultError)?.message ?? "\(error)"))
        }
        return problems
    }
}
