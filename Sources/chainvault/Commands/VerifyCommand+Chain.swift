import VaultChain
import VaultCore
import VaultEngine
import VaultRepository

/// `verify --chain`: the chain check of stored snapshots (issue 13), after the byte-level checks.
extension VerifyCommand {
    struct ChainOutcome: Encodable {
        let snapshot: String
        let profile: String?
        let valid: Bool
        let height: UInt64?
        let tipHash: String?
        let bytesFetched: UInt64
        let seconds: Double
        let problems: [ChainProblem]
    }

    static func checkChains(_ c: Context, _ repo: Repository, _ references: [String]) throws -> [ChainOutcome] {
        try repo.loadIndex()
        let records =
            references.isEmpty
            ? try repo.listSnapshots()
            : try references.map { try repo.resolveSnapshot($0) }
        let name = c.args.value("--chain")
        return try records.map { record in
            let o = try SnapshotChainCheck.run(repo, record, profileName: name)
            let r = o.report
            return ChainOutcome(
                snapshot: record.id.hex, profile: r?.profile, valid: r?.valid ?? true, height: r?.height,
                tipHash: r?.tipHash, bytesFetched: o.bytesFetched, seconds: o.seconds,
                problems: r?.problems ?? [])
        }
    }

    static func printChains(_ c: Context, _ outcomes: [ChainOutcome]) {
        for o in outcomes {
            let id = String(o.snapshot.prefix(8))
            guard let profile = o.profile else {
                c.out.line("snapshot \(id): no chain check (no chain profile applies)")
                continue
            }
            let height = o.height.map(String.init) ?? "unknown"
            c.out.line(
                "snapshot \(id): chain \(profile) \(o.valid ? "valid" : "INVALID"), height \(height), "
                    + "tip \(o.tipHash ?? "none"); read \(Format.bytes(Int(o.bytesFetched))) in "
                    + "\(Format.duration(o.seconds))")
            for p in o.problems where p.kind != .info { c.out.line("  \(p.line)") }
        }
    }

    static func reportChainFailure(_ outcomes: [ChainOutcome]) -> Int32 {
        let bad = outcomes.filter { !$0.valid }
        for o in bad {
            let count = o.problems.filter { $0.kind != .info }.count
            FileHandleStderr.write(
                "error: the chain in snapshot \(o.snapshot.prefix(8)) is not valid: "
                    + "\(count) problem(s)\n")
            for p in o.problems where p.kind != .info { FileHandleStderr.write("  \(p.line)\n") }
        }
        FileHandleStderr.write(
            "HINT: the repository holds exactly the bytes that were read, but the node had "
                + "written a broken chain; restore a snapshot whose chain is valid, or resync the "
                + "named blocks on the node and back up again\n")
        return ErrorCode.corrupt.rawValue
    }
}
