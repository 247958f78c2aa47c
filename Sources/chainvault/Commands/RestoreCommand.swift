import VaultCore
import VaultDaemon
import VaultEngine

enum RestoreCommand: Command {
    static let name = "restore"
    static let summary = "restore a snapshot into a directory, atomically"
    static let help = """
        Usage: chainvault restore SNAPSHOT --target DIR [--path SUBPATH] [--exclude GLOB]... [--delta | --force]
                                  [--host NAME] [--source PATH] [--policy NAME|FILE] [--tag TAG]

        An empty or new DIR gets a staged copy, synced, then renamed in. A non-empty DIR is restored
        in place: unchanged files stay, files that differ are rebuilt beside themselves from the
        chunks that differ, and a journal in DIR/.chainvault-restore lets the next run complete an
        interrupted restore. Every chunk is checked against its SHA-256. Existing content is never
        deleted: what was replaced is kept as DIR.pre-restore-<time> (reported). SNAPSHOT is an id,
        a unique prefix, or 'latest': the newest snapshot whose source is DIR, from this host when
        it has one; when the selection leaves snapshots of several sources, 'latest' is refused and
        their newest are listed.
        \(SnapshotSelectionOptions.help)
          --path SUBPATH  restore only this part of the snapshot, to DIR/SUBPATH
          --delta         restore in place (the default for a non-empty DIR; also for a single file)
          --verify-all    in place: hash every file, not only those whose size or mtime differ
          --force         a full staged copy swapped in whole (kept as DIR.pre-restore-<time>)
          --rollback      undo an interrupted in-place restore of DIR instead of completing it
          --exclude GLOB  leave matching paths alone (backup's --exclude rules): not restored, and
                          in place a live copy is neither replaced nor moved aside
          --protect GLOB  never roll this path back: keep the live copy in DIR if there is one
                          (a validator's signing state, e.g. data/priv_validator_state.json)
          --policy FILE   a policy file (a path with '/' or ending in .json): restore that policy's
                          snapshots into its source (unless --target is given), keeping its
                          protected paths (chainvault-restore@POLICY.service uses this)
          --overwrite-protected  restore protected paths from the snapshot anyway (a validator
                          whose signing state goes back can double-sign: be sure it cannot run)
        """
    static let spec = ArgumentSpec(
        valued: Set(["--target", "--path", "--protect", "--exclude"]).union(SnapshotSelectionOptions.valued),
        flags: ["--delta", "--force", "--overwrite-protected", "--verify-all", "--rollback"],
        positionalsAllowed: 1...1)

    struct Result: Encodable {
        let snapshot: String; let destination: String; let previous: String?
        let protectedKept: [String]; let protectedFromSnapshot: [String]
        let files: UInt64; let directories: UInt64; let bytesFetched: UInt64; let bytesReused: UInt64;
        let durationSeconds: Double
        let mode: String; let bytesWritten: UInt64; let filesUnchanged: UInt64; let filesHashed: UInt64
        let entriesReplaced: UInt64; let completedInterrupted: String?; let rolledBack: String?
        let clearedUnfinished: String?
    }

    static func run(_ c: Context) throws -> Int32 {
        // `--policy` names a policy (a filter) or, given as a path, a policy file to restore by.
        let policyArgument = c.args.value("--policy")
        let policy = try policyArgument.flatMap { $0.contains("/") || $0.hasSuffix(".json") ? $0 : nil }.map(
            PolicyLoader.load)
        guard let target = c.args.value("--target") ?? policy?.source else {
            throw VaultError(
                .usage, "restore needs --target DIR", hint: "the directory to restore into; it is created if missing")
        }
        let repo = try c.openRepository()
        let lock = try c.readLock(repo)
        defer { lock?.release() }
        let selection = SnapshotSelectionOptions.forRestore(c.args, target: target, policyName: policy?.name)
        let snapshot = try repo.resolveSnapshot(c.args.positionals[0], selecting: selection)
        var options = RestoreOptions(snapshot: snapshot.id.hex, target: target)
        // Names are bytes: a name that is not UTF-8 arrives in its `\xHH` form, as `ls` prints it.
        options.subpath = c.args.value("--path").map { FileName.display(FileName.commandLineBytes($0)) }
        options.delta = c.args.has("--delta")
        options.force = c.args.has("--force")
        options.excludes = c.args.all("--exclude")
        if options.force && !options.excludes.isEmpty {
            throw VaultError(
                .usage, "--exclude cannot be combined with --force",
                hint: "--force moves the whole target aside, excluded paths included; "
                    + "restore in place (without --force) to leave excluded paths where they are")
        }
        options.protect = c.args.all("--protect") + (policy?.protect ?? []) + RestoreOptions.alwaysProtected
        options.overwriteProtected = c.args.has("--overwrite-protected")
        options.verifyAll = c.args.has("--verify-all")
        options.rollback = c.args.has("--rollback")
        // The repository (when local) and the state directory are never restore targets.
        // The state directory is this command's own (CHAINVAULT_STATE_DIRECTORY, else the unit's, else
        // the default), plus every directory of a unit's STATE_DIRECTORY list.
        options.refusedTargets =
            [try c.repositoryPath()].filter { !$0.contains("://") }
            + [ChainCheckRunner.stateDirectory(environment: c.environment)]
            + (c.environment["STATE_DIRECTORY"]?.split(separator: ":").map(String.init) ?? [])
        if let warning = ChainCheckWarning.text(for: options.snapshot, in: repo) { c.out.warning(warning) }
        let r = try c.withProgress("restore") {
            try Restorer(repository: repo, options: options, progress: $0, cancellation: c.cancellation).run()
        }
        if let cleared = r.clearedUnfinished, !options.rollback {
            c.out.warning(
                "removed \(cleared), the unfinished work of an interrupted restore "
                    + "(stopped before its journal, it had changed nothing in \(r.destination))")
        }
        for s in r.removedStaging {
            c.out.warning("removed \(s), left by an interrupted restore (it was never swapped in)")
        }
        for p in r.protectedKept { c.out.warning("kept the live copy of protected \(p) (the snapshot's may be older)") }
        for p in r.protectedFromSnapshot where !r.protectedAdvanced.contains(p) {
            c.out.warning(
                "protected \(p) was restored from the snapshot: if this validator signed after the snapshot was taken, it can double-sign; check its signing state before starting it"
            )
        }
        for p in r.protectedAdvanced {
            c.out.warning(
                "protected \(p) was restored from the snapshot: its signing state is higher than the live copy's, "
                    + "so it moves forward (the live copy is kept with the previous content)")
        }
        for w in r.warnings { c.out.warning(w) }
        if let record = try? repo.loadSnapshot(r.snapshotID), record.snapshot.isPartial {
            let paths = record.snapshot.incomplete ?? []
            c.out.warning(
                "snapshot \(record.shortID) is partial: \(paths.count) file(s) were not read completely at backup time and are restored incomplete: \(paths.prefix(10).joined(separator: ", "))\(paths.count > 10 ? ", …" : "")"
            )
        }
        if let s = r.completedJournal {
            c.out.warning("completed the interrupted restore of snapshot \(s.prefix(8)) in \(r.destination) first")
        }
        for s in r.keptFromInterruptedSwap {
            c.out.warning("found the previous content of an interrupted restore and kept it as \(s)")
        }
        if c.out.json {
            c.out.emit(
                Result(
                    snapshot: r.snapshotID.hex, destination: r.destination, previous: r.previous,
                    protectedKept: r.protectedKept, protectedFromSnapshot: r.protectedFromSnapshot, files: r.files,
                    directories: r.directories, bytesFetched: r.bytesFetched, bytesReused: r.bytesReused,
                    durationSeconds: r.durationSeconds,
                    mode: r.mode, bytesWritten: r.bytesWritten, filesUnchanged: r.filesUnchanged,
                    filesHashed: r.filesHashed,
                    entriesReplaced: r.entriesReplaced, completedInterrupted: r.completedJournal,
                    rolledBack: r.rolledBack,
                    clearedUnfinished: r.clearedUnfinished))
        } else if !r.swapRolledBack.isEmpty {
            for s in r.swapRolledBack { c.out.line(s) }
        } else if let s = r.rolledBack {
            c.out.line(
                "rolled back the interrupted restore of snapshot \(s.prefix(8)) in \(r.destination): it is as it was before"
            )
        } else if options.rollback, let cleared = r.clearedUnfinished {
            c.out.line(
                "removed \(cleared), the unfinished work of an interrupted restore: it was stopped before its "
                    + "journal was written and had changed nothing, so \(r.destination) is as it was before")
        } else {
            c.out.line("restored snapshot \(r.snapshotID.shortHex) to \(r.destination)")
            c.out.line(
                "  \(r.files) files, \(r.directories) directories, \(Format.bytes(r.bytesFetched)) fetched, \(Format.bytes(r.bytesReused)) reused from the target, \(Format.duration(r.durationSeconds)) (\(Format.rate(r.bytesFetched + r.bytesReused, r.durationSeconds)))"
            )
            if r.mode != "staged" {
                c.out.line(
                    "  in place: \(r.filesUnchanged) files unchanged (\(r.filesHashed) hashed to compare), \(r.entriesReplaced) entries replaced or removed, \(Format.bytes(r.bytesWritten)) written"
                )
            }
            if let p = r.previous {
                c.out.line("  the previous content is kept at \(p); remove it once the node runs well")
            }
        }
        return 0
    }
}
