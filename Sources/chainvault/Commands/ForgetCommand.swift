import Foundation
import VaultCore
import VaultEngine
import VaultRepository
import VaultStorage

enum ForgetCommand: Command {
    static let name = "forget"
    static let summary = "remove snapshots by retention policy, then (with --prune) their data"
    static let help = """
        Usage: chainvault forget [--keep-last N] [--keep-hourly N] [--keep-daily N] [--keep-weekly N]
                                 [--keep-monthly N] [--keep-yearly N] [--keep-within DURATION]
                                 [--prune] [--dry-run]
               chainvault forget SNAPSHOT... [--prune]

        Applies the policy per host and source (newest N; newest per hour/day/... for the last N
        periods that have a snapshot; everything within DURATION such as 7d). Refuses an empty
        policy. --prune then removes data no snapshot uses and repacks partly used packs, under an
        exclusive lock; the new index is written before anything is deleted.
        """
    static let spec = ArgumentSpec(
        valued: [
            "--keep-last", "--keep-hourly", "--keep-daily", "--keep-weekly", "--keep-monthly", "--keep-yearly",
            "--keep-within"
        ],
        flags: ["--prune", "--dry-run"])

    struct Result: Encodable { let kept: [String]; let removed: [String]; let prune: PruneSummary? }
    struct PruneSummary: Encodable {
        let packsDeleted: Int; let packsRepacked: Int; let packsKept: Int; let bytesFreed: UInt64
        let youngPacksKept: Int; let blobsRepacked: Int
        var retentionExtended = 0
        /// Deletes of this command that a versioned bucket answered with a delete marker.
        var hiddenByDeleteMarkers = 0
    }

    /// The seconds in `$CHAINVAULT_TEST_CLOCK_FILE` (as the daemon's approvals read it): tests move
    /// the retention renewal's clock instead of waiting days.
    static func testClockOffset(_ c: Context) -> TimeInterval {
        guard let file = c.environment["CHAINVAULT_TEST_CLOCK_FILE"], !file.isEmpty,
            let bytes = try? Posix.readFile(file)
        else { return 0 }
        return Double(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    /// `CHAINVAULT_PRUNE_YOUNG_PACK_SECONDS`: how old (by the store's clock) a pack in no index
    /// must be before prune deletes it; default 2 h (tests set 0 to see leftovers go).
    static func youngPackMargin(_ c: Context) throws -> TimeInterval {
        guard let text = c.environment["CHAINVAULT_PRUNE_YOUNG_PACK_SECONDS"], !text.isEmpty else {
            return Pruner.defaultYoungPackMargin
        }
        guard let seconds = Int(text), seconds >= 0 else {
            throw VaultError(
                .usage, "CHAINVAULT_PRUNE_YOUNG_PACK_SECONDS=\(text) is not a number of seconds",
                hint: "unset it for the default of 7200 (2 hours)")
        }
        return TimeInterval(seconds)
    }

    static func run(_ c: Context) throws -> Int32 {
        var policy = RetentionPolicy()
        policy.keepLast = try c.args.int("--keep-last")
        policy.keepHourly = try c.args.int("--keep-hourly")
        policy.keepDaily = try c.args.int("--keep-daily")
        policy.keepWeekly = try c.args.int("--keep-weekly")
        policy.keepMonthly = try c.args.int("--keep-monthly")
        policy.keepYearly = try c.args.int("--keep-yearly")
        if let w = c.args.value("--keep-within") { policy.keepWithinSeconds = try parseDuration(w) }
        let explicit = c.args.positionals
        if policy.isEmpty && explicit.isEmpty && !c.args.has("--prune") {
            throw VaultError(
                .usage, "no retention policy given: refusing to forget every snapshot",
                hint: "pass at least one --keep-* option, or snapshot ids to forget")
        }
        let repo = try c.openRepository()
        let lock = try c.lock(repo, exclusive: true)
        let hiddenAtStart = repo.deletesHiddenByMarkers
        defer { lock.release() }
        let dry = c.args.has("--dry-run")
        var removed: [SnapshotRecord] = []
        var kept: [SnapshotRecord] = []
        if !explicit.isEmpty {
            removed = try explicit.map { try repo.resolveSnapshot($0) }
        } else if !policy.isEmpty {
            let decision = policy.apply(try repo.listSnapshots())
            removed = decision.remove
            kept = decision.keep.map(\.0)
            for (s, reasons) in decision.keep {
                c.out.line(
                    "keep   \(s.shortID)  \(Timestamp.format(s.snapshot.time).prefix(19))  \(s.snapshot.source)  (\(reasons.joined(separator: ", ")))"
                )
            }
        }
        func line(_ s: SnapshotRecord) {
            c.out.line(
                "\(dry ? "would remove" : "remove")  \(s.shortID)  \(Timestamp.format(s.snapshot.time).prefix(19))  \(s.snapshot.source)"
            )
        }
        if dry {
            removed.forEach(line)
        } else {
            // This client's own forget is no rollback: its memory says so (FORMAT.md §8).
            let memory = SnapshotMemory.path(
                stateDirectory: ChainCheckRunner.stateDirectory(environment: c.environment),
                repositoryID: repo.config.id)
            try repo.forget(removed, memory: memory, removing: line)
        }
        var summary: PruneSummary?
        if c.args.has("--prune") {
            let pruner = Pruner(repository: repo)
            pruner.youngPackMargin = try youngPackMargin(c)
            pruner.clockOffset = testClockOffset(c)
            // A dry run deleted no snapshot: the pruner counts those it would have as gone.
            let r = try c.withProgress("prune") { progress in
                pruner.progress = progress
                return try pruner.run(dryRun: dry, forgetting: dry ? Set(removed.map(\.id)) : [])
            }
            summary = PruneSummary(
                packsDeleted: r.packsDeleted, packsRepacked: r.packsRepacked, packsKept: r.packsKept,
                bytesFreed: r.bytesFreed, youngPacksKept: r.youngPacksKept,
                blobsRepacked: r.blobsRepacked, retentionExtended: r.retentionExtended)
            c.out.line(
                "prune\(dry ? " (dry run)" : ""): \(r.packsDeleted) packs deleted, \(r.packsRepacked) repacked (\(r.blobsRepacked) blobs), \(r.packsKept) kept, \(Format.bytes(r.bytesFreed)) freed"
            )
            if r.youngPacksKept > 0 {
                let margin = Format.duration(pruner.youngPackMargin)
                c.out.line(
                    "  kept \(r.youngPacksKept) unindexed pack(s) younger than \(margin): "
                        + "they may belong to a backup still running")
            }
            if r.retentionChecked > 0 {
                c.out.line(
                    "  extended the Object Lock retention of \(r.retentionExtended) of \(r.retentionChecked) kept "
                        + "object(s) whose retention ends within half the period")
            }
        }
        let hidden = repo.deletesHiddenByMarkers - hiddenAtStart
        if hidden > 0 {
            summary?.hiddenByDeleteMarkers = hidden
            c.out.line(
                "\(hidden) deleted object(s) are only hidden behind delete markers: the bucket is versioned and "
                    + "keeps (and bills) their versions; set a lifecycle rule that expires noncurrent versions "
                    + "(README, \"Versioned buckets: delete markers\")")
        }
        if c.out.json { c.out.emit(Result(kept: kept.map(\.id.hex), removed: removed.map(\.id.hex), prune: summary)) }
        return 0
    }
}
