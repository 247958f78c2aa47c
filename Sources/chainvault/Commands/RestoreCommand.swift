import VaultCore
import VaultEngine

enum RestoreCommand: Command {
    static let name = "restore"
    static let summary = "restore a snapshot into a directory, atomically"
    static let help = """
    Usage: chainvault restore SNAPSHOT --target DIR [--path SUBPATH] [--delta | --force]

    Restores into a staging directory beside DIR, checks every chunk against its SHA-256 as it
    is written, syncs, then swaps it in with one atomic rename. Existing content is never
    deleted: it is kept as DIR.pre-restore-<time> (reported). SNAPSHOT is an id, a unique
    prefix, or 'latest'.
      --path SUBPATH  restore only this part of the snapshot, to DIR/SUBPATH
      --delta         reuse bytes already in DIR that match; fetch only what differs
      --force         replace a non-empty DIR (still kept as DIR.pre-restore-<time>)
      --protect GLOB  never roll this path back: keep the live copy in DIR if there is one
                      (a validator's signing state, e.g. data/priv_validator_state.json)
      --overwrite-protected  restore protected paths from the snapshot anyway (a validator
                      whose signing state goes back can double-sign: be sure it cannot run)
    """
    static let spec = ArgumentSpec(valued: ["--target", "--path", "--protect"], flags: ["--delta", "--force", "--overwrite-protected"], positionalsAllowed: 1...1)

    struct Result: Encodable {
        let snapshot: String; let destination: String; let previous: String?
        let protectedKept: [String]; let protectedFromSnapshot: [String]
        let files: UInt64; let directories: UInt64; let bytesFetched: UInt64; let bytesReused: UInt64; let durationSeconds: Double
    }

    static func run(_ c: Context) throws -> Int32 {
        guard let target = c.args.value("--target") else {
            throw VaultError(.usage, "restore needs --target DIR", hint: "the directory to restore into; it is created if missing")
        }
        let repo = try c.openRepository()
        let lock = try c.readLock(repo)
        defer { lock?.release() }
        var options = RestoreOptions(snapshot: c.args.positionals[0], target: target)
        // Names are bytes: a name that is not UTF-8 arrives in its `\xHH` form, as `ls` prints it.
        options.subpath = c.args.value("--path").map { FileName.display(FileName.commandLineBytes($0)) }
        options.delta = c.args.has("--delta")
        options.force = c.args.has("--force")
        options.protect = c.args.all("--protect")
        options.overwriteProtected = c.args.has("--overwrite-protected")
        if let warning = ChainCheckWarning.text(for: options.snapshot, in: repo) { c.out.warning(warning) }
        let r = try c.withProgress("restore") {
            try Restorer(repository: repo, options: options, progress: $0, cancellation: c.cancellation).run()
        }
        for s in r.removedStaging { c.out.warning("removed \(s), left by an interrupted restore (it was never swapped in)") }
        for p in r.protectedKept { c.out.warning("kept the live copy of protected \(p) (the snapshot's may be older)") }
        for p in r.protectedFromSnapshot {
            c.out.warning("protected \(p) was restored from the snapshot: if this validator signed after the snapshot was taken, it can double-sign; check its signing state before starting it")
        }
        for w in r.warnings { c.out.warning(w) }
        if let record = try? repo.loadSnapshot(r.snapshotID), record.snapshot.isPartial {
            let paths = record.snapshot.incomplete ?? []
            c.out.warning("snapshot \(record.shortID) is partial: \(paths.count) file(s) were not read completely at backup time and are restored incomplete: \(paths.prefix(10).joined(separator: ", "))\(paths.count > 10 ? ", …" : "")")
        }
        for s in r.keptFromInterruptedSwap { c.out.warning("found the previous content of an interrupted restore and kept it as \(s)") }
        if c.out.json {
            c.out.emit(Result(snapshot: r.snapshotID, destination: r.destination, previous: r.previous,
                              protectedKept: r.protectedKept, protectedFromSnapshot: r.protectedFromSnapshot, files: r.files,
                              directories: r.directories, bytesFetched: r.bytesFetched, bytesReused: r.bytesReused, durationSeconds: r.durationSeconds))
        } else {
            c.out.line("restored snapshot \(r.snapshotID.prefix(8)) to \(r.destination)")
            c.out.line("  \(r.files) files, \(r.directories) directories, \(Format.bytes(r.bytesFetched)) fetched, \(Format.bytes(r.bytesReused)) reused from the target, \(Format.duration(r.durationSeconds)) (\(Format.rate(r.bytesFetched + r.bytesReused, r.durationSeconds)))")
            if let p = r.previous { c.out.line("  the previous content is kept at \(p); remove it once the node runs well") }
        }
        return 0
    }
}
