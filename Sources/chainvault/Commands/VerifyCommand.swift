import VaultCore
import VaultEngine
import VaultRepository

enum VerifyCommand: Command {
    static let name = "verify"
    static let summary = "prove snapshots are complete and unaltered"
    static let help = """
        Usage: chainvault verify [SNAPSHOT...] [--read-data | --read-data-subset N% | --read-data-subset K/N]
                                 [--chain [NAME|none]]

        Always checks structure: every snapshot's trees load, every chunk they reference is indexed,
        every indexed pack exists with the right size. With --read-data every pack is downloaded,
        its SHA-256 name checked, its header authenticated, and every chunk decrypted,
        decompressed and re-hashed. --read-data-subset reads a random N% of packs (rounded up: at least one), or group K of N
        (run K = 1..N over N days to read everything).
        Problems name the pack, the chunks, and every snapshot and file they affect. Data that fails
        its check is read a second time before it is called damaged. Exit 0 when clean, 14 when
        anything is damaged, 16 when nothing was found damaged but something could not be read
        (the storage failed after every retry: run verify again).
        It also compares the snapshots with those this client saw before (its state directory): a
        source's newest snapshot gone with nothing newer, or a removed snapshot back, is a rollback
        (exit 23); --accept-rollback reports it as a warning and remembers the repository as it is.
        With --chain the chain inside each snapshot (all of them unless SNAPSHOTs are named) is also
        checked, streamed from the repository without a restore, every chunk checked against its hash:
        with the profile NAME, else the one the snapshot recorded, else the one its layout fits.
        Every chain problem is named (file, offset, height, block hash, what failed); exit 14.
        """
    static let spec = ArgumentSpec(
        valued: ["--read-data-subset"], flags: ["--read-data", "--accept-rollback"],
        optionalValued: ["--chain": ["bitcoind", "geth", "cometbft", "none"]])

    struct Result: Encodable {
        let clean: Bool; let snapshots: Int; let trees: Int; let files: Int; let packs: Int; let packsRead: Int
        let bytesRead: UInt64; let unindexedPacks: [String]; let problems: [Problem]; let unreadable: [Problem];
        let affected: [AffectedFile]; let durationSeconds: Double
        let repairablePacks: [String]
        var chain: [ChainOutcome]? = nil
    }

    static func readData(_ c: Context) throws -> ReadData {
        if c.args.has("--read-data") { return .all }
        guard let subset = c.args.value("--read-data-subset") else { return .none }
        if subset.hasSuffix("%"), let p = Double(subset.dropLast()), p > 0, p <= 100 { return .fraction(p / 100) }
        let parts = subset.split(separator: "/").compactMap { Int($0) }
        if parts.count == 2, parts[1] >= 1, (1...parts[1]).contains(parts[0]) { return .group(parts[0], parts[1]) }
        throw VaultError(.usage, "--read-data-subset takes N% (0 < N ≤ 100) or K/N (1 ≤ K ≤ N), got '\(subset)'")
    }

    static func run(_ c: Context) throws -> Int32 {
        var options = VerifyOptions()
        options.snapshots = c.args.positionals
        options.readData = try readData(c)
        let repo = try c.openRepository()
        let lock = try c.readLock(repo)
        defer { lock?.release() }
        let r = try c.withProgress("verify") { try Checker(repository: repo, options: options, progress: $0).run() }
        let rollback = try checkRollback(c, repo, accept: c.args.has("--accept-rollback"))
        // Not damage, but a writer's clock that runs fast (FORMAT.md §8); a listing that fails here
        // was already reported by the check.
        if let listed = try? repo.listSnapshotsReportingDamage().0 {
            for line in repo.judgeSnapshotClock(listed).warnings { c.out.warning(line) }
        }
        // A chain check reads the data through the index: only over a repository found sound.
        let chain =
            c.args.has("--chain") && r.problems.isEmpty && r.unreadable.isEmpty
            ? try checkChains(c, repo, options.snapshots) : nil
        if c.out.json {
            c.out.emit(
                Result(
                    clean: r.clean, snapshots: r.snapshots, trees: r.trees, files: r.files, packs: r.packs,
                    packsRead: r.packsRead,
                    bytesRead: r.bytesRead, unindexedPacks: r.unindexedPacks, problems: r.problems,
                    unreadable: r.unreadable, affected: r.affected,
                    durationSeconds: r.durationSeconds, repairablePacks: r.repairablePacks, chain: chain))
        } else {
            c.out.line("checked \(r.snapshots) snapshot(s), \(r.trees) trees, \(r.files) files, \(r.packs) packs")
            if options.readData != .none {
                c.out.line(
                    "read \(r.packsRead) packs, \(Format.bytes(r.bytesRead)) in \(Format.duration(r.durationSeconds)) (\(Format.rate(r.bytesRead, r.durationSeconds)))"
                )
            }
            if !r.unindexedPacks.isEmpty {
                c.out.line(
                    "note: \(r.unindexedPacks.count) pack(s) are in no index (left by an interrupted backup, or an index file was lost: the next backup or 'chainvault repair index' indexes them)"
                )
            }
            if let chain { printChains(c, chain) }
            if r.clean && chain?.allSatisfy({ $0.valid }) != false { c.out.line("no problems found") }
        }
        if !r.unreadable.isEmpty {
            FileHandleStderr.write(
                "error: verify could not read \(r.unreadable.count) object(s); they were not checked\n")
            for p in r.unreadable { FileHandleStderr.write("  \(p.object): \(p.message)\n") }
        }
        if r.problems.isEmpty && !r.unreadable.isEmpty {
            // A failure to read says nothing about the stored bytes: forgetting snapshots for it
            // would destroy intact data.
            FileHandleStderr.write(
                "HINT: a failure to read is not damage: check the storage (its health, the network) and run 'chainvault verify\(options.readData == .none ? "" : " --read-data")' again; do not forget or prune snapshots because of it\n"
            )
            return ErrorCode.storageFailure.rawValue
        }
        if !r.clean {
            FileHandleStderr.write("error: verify found \(r.problems.count) problem(s)\n")
            for p in r.problems { FileHandleStderr.write("  \(p.object): \(p.message)\n") }
            if !r.affected.isEmpty {
                FileHandleStderr.write("affected files:\n")
                for a in r.affected { FileHandleStderr.write("  snapshot \(a.snapshot): \(a.path)\n") }
            }
            if !r.unindexedPacks.isEmpty, r.problems.contains(where: { $0.message.contains("not in the index") }) {
                // The data may all be there, only unindexed: pruning now would be the wrong move.
                FileHandleStderr.write(
                    "HINT: \(r.unindexedPacks.count) pack(s) are in no index and the snapshots need blobs the index lacks: run 'chainvault repair index' (it rebuilds the index from the packs' authenticated headers), then verify again; do not prune before that\n"
                )
            } else if r.damagedBlobs > 0 || r.problems.contains(where: { $0.object.hasPrefix("snapshot") }) {
                FileHandleStderr.write(
                    "HINT: restore affected files from a snapshot that does not use the damaged data, or run a new backup so their current content is stored again; then 'chainvault forget --prune' the damaged snapshots\n"
                )
                if !r.repairablePacks.isEmpty { FileHandleStderr.write(repairPacksHint(r) + "\n") }
            } else {
                // Damage that no snapshot depends on: forgetting snapshots would destroy intact data.
                FileHandleStderr.write("no snapshot or file is affected: every blob the snapshots use is intact\n")
                FileHandleStderr.write(
                    r.repairablePacks.isEmpty
                        ? "HINT: do not forget or prune snapshots for it; follow the advice given with each problem above\n"
                        : repairPacksHint(r) + "; do not forget or prune snapshots for it\n")
            }
            return ErrorCode.corrupt.rawValue
        }
        if let chain, !chain.allSatisfy({ $0.valid }) { return reportChainFailure(chain) }
        if !rollback.isEmpty { return reportRollback(rollback) }
        return 0
    }
}

extension VerifyCommand {
    /// The command that rewrites damaged pack files whose blobs are all intact.
    static func repairPacksHint(_ r: VerifyReport) -> String {
        "HINT: run 'chainvault repair packs \(r.repairablePacks.map { String($0.prefix(8)) }.joined(separator: " "))' "
            + "to rewrite the intact blobs of the damaged pack file(s) into new packs (each blob is checked before the "
            + "old pack is deleted), then verify again"
    }
}
