import Foundation
import VaultCore
import VaultEngine
import VaultRepository

enum SnapshotsCommand: Command {
    static let name = "snapshots"
    static let summary = "list snapshots"
    static let help = """
        Usage: chainvault snapshots [--json] [--host NAME] [--source PATH] [--policy NAME] [--tag TAG]

        Lists the snapshots, oldest first: id, time, host, source, size, policy, tags.
        \(SnapshotSelectionOptions.help)
        """
    static let spec = ArgumentSpec(valued: SnapshotSelectionOptions.valued, positionalsAllowed: 0...0)

    struct Row: Encodable { let id: String; let snapshot: Snapshot }

    static func run(_ c: Context) throws -> Int32 {
        let repo = try c.openRepository()
        let (listed, damaged) = try repo.listSnapshotsReportingDamage()
        let filter = SnapshotSelectionOptions.filter(c.args)
        let all = listed.filter { filter.matches($0.snapshot) }
        for e in damaged { c.out.warning(e.message) }
        // Judged on the store's clock: this host's may be as wrong as the writer's.
        for line in repo.judgeSnapshotClock(all).warnings { c.out.warning(line) }
        if c.out.json {
            c.out.emit(all.map { Row(id: $0.id.hex, snapshot: $0.snapshot) });
            return damaged.isEmpty ? 0 : ErrorCode.corrupt.rawValue
        }
        c.out.line("ID        Time                 Host              Size        Source")
        for r in all {
            let s = r.snapshot
            let tags = s.tags.isEmpty ? "" : "  [\(s.tags.joined(separator: ","))]"
            let policy = s.policy.map { "  policy \($0)" } ?? ""
            var partial = s.isPartial ? "  (partial: \(s.incomplete?.count ?? 0) incomplete file(s))" : ""
            if let check = s.chainCheck {
                partial += "  \(check.profile) height \(check.height.map(String.init) ?? "?")"
                if !check.valid {
                    partial += s.chainCheckFailed ? " (CHAIN CHECK FAILED: not latest)" : " (chain check failed)"
                }
            }
            c.out.line(
                "\(r.shortID)  \(Timestamp.format(s.time).prefix(19).replacingOccurrences(of: "T", with: " "))  \(s.hostname.padding(toLength: 16, withPad: " ", startingAt: 0))  \(Format.bytes(s.stats.bytesTotal).padding(toLength: 10, withPad: " ", startingAt: 0))  \(s.source)\(policy)\(tags)\(partial)"
            )
        }
        c.out.line("\(all.count) snapshot(s)")
        return damaged.isEmpty ? 0 : ErrorCode.corrupt.rawValue
    }
}
