import Foundation
import VaultCore
import VaultEngine
import VaultRepository

enum BackupCommand: Command {
    static let name = "backup"
    static let summary = "snapshot a directory tree"
    static let help = """
        Usage: chainvault backup SOURCE [--exclude GLOB]... [--tag T]... [--host H] [--parent SNAPSHOT]

        Saves SOURCE (files with their holes, directories, symlinks, hardlinks, fifos, modes, owners,
        ns mtimes, extended attributes and ACLs) as a new snapshot; sockets are skipped by design. Data already in the repository is not stored again; a file whose size, mtime,
        ctime and inode match the previous snapshot of the same source is not even read.
          --exclude GLOB   skip matching entries: without '/', by name at any depth ('*.log', 'LOCK');
                           with '/', by path relative to SOURCE ('chaindata/ancient/*.tmp')
          --include GLOB   save only matching entries (and everything under matching directories);
                           same rules as --exclude, which still applies inside
          --tag T          label the snapshot (repeatable)
          --host H         host name to record (default: this machine's)
          --parent ID      compare against this snapshot instead of the latest of SOURCE on this host
          --chain NAME     check the chain in SOURCE with this profile (bitcoind), or none (default: detect)
          --chain-check M  required (a failed check keeps the snapshot but never makes it 'latest'),
                           recorded (default: the result is recorded and reported), or off
        Exit 0 on success, 3 when some files could not be read (listed; the snapshot was written), 14 when a
        required chain check failed (the snapshot was written and flagged).
        """
    static let spec = ArgumentSpec(
        valued: ["--exclude", "--include", "--tag", "--host", "--parent", "--policy", "--chain", "--chain-check"],
        positionalsAllowed: 1...1)

    struct Result: Encodable {
        let snapshot: String
        let parent: String?
        let source: String
        let stats: Snapshot.Stats
        let recoveredPacks: Int
        /// Sockets are skipped by design (their program recreates them), so they are listed here
        /// and are no warning.
        let skippedSockets: [String]
        let throughputBytesPerSecond: Double
        let partial: Bool
        let incomplete: [String]
        let chainCheck: ChainCheck?
    }

    static func run(_ c: Context) throws -> Int32 {
        let repo = try c.openRepository()
        let lock = try c.lock(repo, exclusive: false)
        defer { lock.release() }
        var options = BackupOptions(source: c.args.positionals[0])
        options.excludes = c.args.all("--exclude")
        options.includes = c.args.all("--include")
        options.tags = c.args.all("--tag")
        if let h = c.args.value("--host") { options.hostname = h }
        options.parent = c.args.value("--parent")
        options.policy = c.args.value("--policy")
        options.chain = c.args.value("--chain")
        if let mode = c.args.value("--chain-check") {
            guard let m = ChainCheckMode(rawValue: mode) else {
                throw VaultError(.usage, "--chain-check must be required, recorded or off, got '\(mode)'")
            }
            options.chainCheck = m
        }
        // The incremental state is kept only where a state directory is configured (the service's
        // $STATE_DIRECTORY, or $CHAINVAULT_STATE_DIRECTORY): a backup run by hand leaves nothing behind.
        // A backup trusts it only for bytes whose chunk ids equal the parent snapshot's, so a
        // required check can use it too: a bit flipped in an old block changes a chunk id.
        let configured = c.environment["CHAINVAULT_STATE_DIRECTORY"] ?? c.environment["STATE_DIRECTORY"]
        if options.chainCheck != .off, let configured, !configured.isEmpty {
            options.chainStatePath = ChainCheckRunner.defaultStatePath(
                for: options.source, stateDirectory: ChainCheckRunner.stateDirectory(environment: c.environment))
        }
        let result = try c.withProgress("backup") {
            try Archiver(repository: repo, options: options, progress: $0, cancellation: c.cancellation).run()
        }
        let s = result.snapshot.stats
        for w in result.warnings { c.out.warning(w) }
        for n in result.notices { c.out.warning(n) }
        if let ahead = result.aheadOfClock {
            c.out.warning(
                "snapshot \(ahead.shortID) of \(ahead.snapshot.hostname) is dated \(Timestamp.format(ahead.snapshot.time)), ahead of this host's clock: one of the two clocks is wrong (this snapshot is ordered after it all the same)"
            )
        }
        if result.snapshot.isPartial {
            c.out.warning(
                "snapshot \(result.snapshotID.shortHex) is partial: \(result.snapshot.incomplete?.count ?? 0) file(s) could not be read completely; it will not be 'latest'"
            )
        }
        // A detected profile under the default `recorded` is reported in the summary only: the source
        // may merely look like a chain directory. A named profile or a required check warns.
        if let check = result.snapshot.chainCheck, !check.valid, check.required || options.chain != nil {
            let flag = check.required ? "; the check is required, so it will not be 'latest'" : ""
            c.out.warning(
                "chain check (\(check.profile)) of snapshot \(result.snapshotID.shortHex) failed with "
                    + "\(check.problems) problem(s)\(flag): " + check.firstProblems.joined(separator: "; "))
        }
        if c.out.json {
            c.out.emit(
                Result(
                    snapshot: result.snapshotID.hex, parent: result.parentID?.hex, source: result.snapshot.source,
                    stats: s,
                    recoveredPacks: result.recoveredPacks, skippedSockets: result.skippedSockets,
                    throughputBytesPerSecond: s.durationSeconds > 0 ? Double(s.bytesTotal) / s.durationSeconds : 0,
                    partial: result.snapshot.isPartial, incomplete: result.snapshot.incomplete ?? [],
                    chainCheck: result.snapshot.chainCheck))
        } else {
            if result.recoveredPacks > 0 {
                c.out.line("reused \(result.recoveredPacks) packs left by an interrupted backup")
            }
            c.out.line(
                "snapshot \(result.snapshotID.shortHex) saved\(result.parentID.map { " (parent \($0.shortHex))" } ?? "")"
            )
            c.out.line(
                "  files      \(s.files) (\(s.filesUnchanged) unchanged), \(s.directories) directories, \(s.symlinks) symlinks"
            )
            c.out.line("  source     \(Format.bytes(s.bytesTotal)), read \(Format.bytes(s.bytesRead))")
            c.out.line(
                "  new        \(Format.bytes(s.bytesNew)) in \(s.chunksNew) chunks after dedup, stored \(Format.bytes(s.bytesStored))"
            )
            if !result.skippedSockets.isEmpty {
                c.out.line(
                    "  skipped    \(result.skippedSockets.count) sockets (by design: their programs recreate them)")
            }
            if let check = result.snapshot.chainCheck {
                c.out.line(
                    "  chain      \(check.profile) height \(check.height.map(String.init) ?? "unknown"), "
                        + (check.valid ? "valid" : "INVALID (\(check.problems) problems)"))
            }
            c.out.line(
                "  duration   \(Format.duration(s.durationSeconds)), \(Format.rate(s.bytesTotal, s.durationSeconds))")
        }
        if result.snapshot.chainCheckFailed { return ErrorCode.corrupt.rawValue }
        return result.warnings.isEmpty ? 0 : ErrorCode.partial.rawValue
    }
}
