import VaultCore
import VaultEngine
import VaultRepository

enum RepairCommand: Command {
    static let name = "repair"
    static let summary = "rebuild the index from the packs, or rewrite packs whose file is damaged"
    static let help = """
        Usage: chainvault repair index
               chainvault repair packs PACK...

        index: reads every pack's authenticated header and writes a new index that supersedes all old
        index files, then deletes them. Use it when verify reports a damaged or missing index file.
        A pack whose header cannot be read keeps the entries an old index file gave it, and an
        unreadable old index file is kept while such a pack found its entries nowhere else. Then every
        snapshot is walked through the new index: exit 0 only when everything they reference is
        reachable; else exit 14 (16 when only failures to read left it so), naming what is not.

        packs: for each PACK (its id, or the first 8 or more hex digits verify prints) whose file is
        damaged (its SHA-256 or its header) while every blob the index lists in it is intact, reads and
        checks each of those blobs, writes them into new packs, writes an index without the old pack,
        and only then deletes it. A pack with a damaged blob is left as it is (exit 14: run verify to
        see the affected files); an intact pack too.
        """
    static let spec = ArgumentSpec(positionalsAllowed: 1...Int.max)

    static func run(_ c: Context) throws -> Int32 {
        switch c.args.positionals[0] {
        case "index" where c.args.positionals.count == 1: return try index(c)
        case "packs" where c.args.positionals.count > 1: return try packs(c, Array(c.args.positionals.dropFirst()))
        default: throw VaultError(.usage, "usage: 'chainvault repair index' or 'chainvault repair packs PACK...'")
        }
    }

    static func index(_ c: Context) throws -> Int32 {
        let repo = try c.openRepository()
        let lock = try c.lock(repo, exclusive: true)
        defer { lock.release() }
        let r = try repo.rebuildIndex { name, error in
            c.out.warning("pack \(name.prefix(8)) skipped: \(error.message)")
        }
        if c.out.json {
            c.out.emit(r)
        } else {
            var line =
                "rebuilt the index from \(r.packsIndexed) of \(r.packs) packs (\(r.blobs) blobs); "
                + "replaced \(r.indexFilesReplaced) index file(s)"
            if r.packsCarried > 0 {
                line += "; \(r.packsCarried) pack(s) with an unreadable header kept their old entries"
            }
            if r.indexFilesKept > 0 {
                line += "; kept \(r.indexFilesKept) unreadable index file(s) that may hold the rest"
            }
            c.out.line(line)
        }
        guard r.unreachableBlobs > 0 || r.unreadableTrees > 0 else { return 0 }
        // The index is as good as the packs allow, but the snapshots are not whole: not a success.
        var what = "error: \(r.unreachableBlobs) blob(s) the snapshots reference are still unreachable"
        if r.unreadableTrees > 0 { what += ", and \(r.unreadableTrees) tree(s) could not be read" }
        FileHandleStderr.write(what + "\n")
        for p in r.packsUnindexed {
            FileHandleStderr.write(
                "  pack \(p.prefix(8)): its header cannot be read and no readable index file "
                    + "lists it\n")
        }
        for i in r.keptIndexFiles {
            FileHandleStderr.write(
                "  index/\(i.prefix(8)): cannot be read; kept, it may be the only record of "
                    + "those packs\n")
        }
        // Read failures are the cause only when there was some cause at all (a pack gone from
        // storage leaves nothing unread, and is damage).
        if r.onlyReadFailures, !(r.packsUnindexed.isEmpty && r.keptIndexFiles.isEmpty) {
            FileHandleStderr.write(
                "HINT: only failures to read left them unreachable: fix the storage and run "
                    + "'chainvault repair index' again; do not forget or prune snapshots because of it\n")
            return ErrorCode.storageFailure.rawValue
        }
        FileHandleStderr.write(
            "HINT: run 'chainvault verify' to list the affected files (the rest is intact), "
                + "restore them from a snapshot that does not use them or back them up again; "
                + "do not prune before verify is run\n")
        return ErrorCode.corrupt.rawValue
    }

    static func packs(_ c: Context, _ names: [String]) throws -> Int32 {
        let repo = try c.openRepository()
        let lock = try c.lock(repo, exclusive: true)
        defer { lock.release() }
        let r = try repo.repairPacks(names)
        if c.out.json {
            c.out.emit(r)
        } else {
            for p in r.rewritten { c.out.line("pack \(p.prefix(8)): rewritten into new packs, then deleted") }
            for p in r.intact { c.out.line("pack \(p.prefix(8)): intact, left as it is") }
            if !r.rewritten.isEmpty { c.out.line("rewrote \(r.blobs) blob(s) into \(r.newPacks.count) new pack(s)") }
        }
        guard !r.refused.isEmpty else { return 0 }
        FileHandleStderr.write("error: \(r.refused.count) pack(s) were left as they are\n")
        for p in r.refused { FileHandleStderr.write("  pack \(p.pack.prefix(8)): \(p.reason)\n") }
        FileHandleStderr.write(
            "HINT: run 'chainvault verify --read-data' to see which files the damaged blobs "
                + "affect; such a pack is never deleted by repair\n")
        return ErrorCode.corrupt.rawValue
    }
}
