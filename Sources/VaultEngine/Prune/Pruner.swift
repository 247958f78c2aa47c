import Foundation
import VaultCore
import VaultRepository
import VaultStorage

public struct PruneResult: Sendable {
    public var packsDeleted = 0
    public var packsRepacked = 0
    public var packsKept = 0
    public var blobsRepacked = 0
    public var bytesFreed: UInt64 = 0
    public var indexFilesReplaced = 0
    /// Packs in no index that are younger than `youngPackMargin`: kept, they may be a running backup's.
    public var youngPacksKept = 0
    /// Kept objects whose Object Lock retention was asked about, and lengthened (RetentionRenewal).
    public var retentionChecked = 0
    public var retentionExtended = 0
}

/// Removes data no snapshot references. Must run under an exclusive lock. Order (FORMAT.md,
/// "Prune"): repacked blobs are written to new packs; one new index naming every kept blob (and
/// superseding all old index files) is written; only then are old index files and packs deleted.
/// Killed at any point, nothing still referenced is gone.
public final class Pruner {
    let repository: Repository
    /// Repack a partly used pack when at least this share of its bytes is unused.
    public var repackThreshold = 0.05
    /// A pack in no index is deleted only once the store says it is at least this old: younger, it
    /// may belong to a backup that started after this prune listed the repository, whose index
    /// and snapshot are still to come (FORMAT.md, "Prune"). 2 h is far more than a backup takes
    /// between storing a pack and indexing it (every few packs), yet unindexed leftovers of a
    /// killed backup still go at the next prune.
    public var youngPackMargin: TimeInterval = Pruner.defaultYoungPackMargin
    public static let defaultYoungPackMargin: TimeInterval = 2 * 3600

    /// Added to the store's clock for the retention renewal only (tests: `CHAINVAULT_TEST_CLOCK_FILE`).
    public var clockOffset: TimeInterval = 0
    /// Phases and counts for a progress line: "listing" (index files read), "marking" (trees
    /// read), "repacking" (blobs and their stored bytes copied, of the plan's total), "deleting"
    /// (packs removed and their bytes, of the total to free).
    public var progress: JobProgress?

    public init(repository: Repository) { self.repository = repository }

    /// `forgetting`: snapshot ids to treat as already deleted. A dry run of `forget --prune` deletes
    /// no snapshot, yet must count what the real run frees once they are gone; the real run deletes
    /// them first, so the set changes nothing there.
    public func run(dryRun: Bool = false, forgetting: Set<String> = []) throws -> PruneResult {
        var result = PruneResult()
        let codec = repository.makeCodec()
        progress?.setPhase("listing", total: 0)
        var packs: [SHA256Digest: IndexedPack] = [:]
        let oldIndexNames = try repository.loadIndex(visit: { file in
            progress?.add(files: 1)
            for p in file.packs where packs[p.id] == nil { packs[p.id] = p }
        }, restart: { packs = [:] }).listed

        // Everything the remaining (kept) snapshots use. An unreadable tree of a kept snapshot
        // aborts: what it references is unknown, and deleting on a guess loses data. Snapshots
        // being forgotten were deleted before this walk, so their damaged trees block nothing
        // (FORMAT.md, "Prune"). Each tree remembers the first snapshot that reached it, to name it.
        var used = Set<BlobID>()
        var stack: [(BlobID, String)] = []
        let snapshots = try repository.listSnapshots().filter { !forgetting.contains($0.id) }
        progress?.setPhase("marking", total: 0)
        for s in snapshots {
            guard let root = s.snapshot.treeID else { throw VaultError(.corrupt, "snapshot \(s.shortID) has no tree id; prune stopped") }
            stack.append((root, s.shortID))
        }
        while let (id, snapshot) = stack.popLast() {
            guard used.insert(id).inserted else { continue }
            let tree: Tree
            do { tree = try repository.loadTree(id, codec: codec) } catch {
                throw VaultError(.corrupt, "prune stopped: tree \(id.shortHex) of kept snapshot \(snapshot) cannot be read, "
                                 + "so what it references is unknown",
                                 cause: (error as? VaultError)?.message,
                                 hint: "run 'chainvault verify' and fix the repository first, or forget snapshot \(snapshot) "
                                     + "if it cannot be repaired; nothing was deleted")
            }
            progress?.add(files: 1)
            for node in tree.nodes {
                if let sub = node.subtree { stack.append((sub, snapshot)) }
                for c in node.chunks {
                    guard repository.index.contains(c) else {
                        throw VaultError(.missing, "prune stopped: chunk \(c.shortHex) is referenced but not indexed",
                                         hint: "run 'chainvault verify'; nothing was deleted")
                    }
                    used.insert(c)
                }
            }
        }

        var keep: [IndexedPack] = []
        var delete: [SHA256Digest] = []
        var repack: [IndexedPack] = []
        for pack in packs.values.sorted(by: { $0.id < $1.id }) {
            let total = pack.entries.reduce(0) { $0 + UInt64($1.storedLength) }
            let unused = pack.entries.filter { !used.contains($0.id) }.reduce(0) { $0 + UInt64($1.storedLength) }
            if unused == 0 { keep.append(pack) }
            else if unused == total { delete.append(pack.id); result.bytesFreed += total }
            else if Double(unused) >= repackThreshold * Double(total) { repack.append(pack); result.bytesFreed += unused }
            else { keep.append(pack) }
        }
        // Packs no index knows: left by killed backups, or written by one still running. Only those
        // the store's clock says are old enough go; a pack of unknown age stays.
        let known = Set(packs.keys)
        let now = repository.storeNow()
        var orphans: [SHA256Digest] = []
        var packWritten: [String: Date] = [:]
        var orphanBytes: UInt64 = 0
        for info in try repository.listPacks() {
            packWritten[info.name] = info.modified
            guard let id = SHA256Digest(hex: info.name), !known.contains(id) else { continue }
            if let written = info.modified, now.timeIntervalSince(written) >= youngPackMargin {
                orphans.append(id)
                orphanBytes += UInt64(info.size)
            }
            else { result.youngPacksKept += 1 }
        }
        result.packsDeleted = delete.count + orphans.count
        result.packsRepacked = repack.count
        result.packsKept = keep.count
        // Which blobs move is decided here, before the dry run returns, so both report one plan.
        let moves = Self.repackPlan(keep: keep, repack: repack, used: used)
        result.blobsRepacked = moves.count
        if dryRun { return result }
        try crossCheck(snapshots: Set(snapshots.map(\.id)), indexFiles: Set(oldIndexNames))
        // Before anything is written or deleted: a refusal leaves the repository as it was.
        if let outcome = try repository.extendRetention(keptSnapshots: Set(snapshots.map(\.id)), keptPacks: keep.map(\.id),
                                                        packWritten: packWritten, now: now.addingTimeInterval(clockOffset)) {
            result.retentionChecked = outcome.checked
            result.retentionExtended = outcome.extended
        }

        // Repack: copy each still-used blob (read back and hash-checked) into new packs.
        var newPacks: [IndexedPack] = []
        var writers: [BlobType: PackWriter] = [:]
        func flush(_ type: BlobType) throws {
            guard let w = writers[type], !w.isEmpty else { return }
            let finished = try w.finish(codec: codec)
            try repository.storePack(finished)
            newPacks.append(finished.indexed)
            writers[type] = nil
        }
        progress?.setPhase("repacking", total: moves.reduce(0) { $0 + UInt64($1.1.storedLength) })
        for (pack, e) in moves {
            defer { progress?.add(files: 1, bytes: UInt64(e.storedLength)) }
            let bytes = try repository.readBlob(at: BlobLocation(pack: pack.id, salt: pack.salt, entry: e), codec: codec)
            if writers[e.type] == nil { writers[e.type] = try repository.newPackWriter(type: e.type) }
            _ = try bytes.withUnsafeBytes { try writers[e.type]!.add(id: e.id, plaintext: $0, codec: codec) }
            if writers[e.type]!.size >= repository.config.packSize { try flush(e.type) }
        }
        try flush(.data)
        try flush(.tree)

        // The new index first (it supersedes every old one), then deletions.
        let oldIDs = oldIndexNames.compactMap { SHA256Digest(hex: $0) }
        try repository.writeIndex(IndexFile(packs: keep + newPacks, supersedes: oldIDs))
        if let outcome = try repository.extendRetentionOfCurrentIndexFiles(
            superseded: Set(oldIndexNames), now: now.addingTimeInterval(clockOffset)) {
            result.retentionChecked += outcome.checked
            result.retentionExtended += outcome.extended
        }
        try repository.deleteIndexFiles(oldIndexNames)
        result.indexFilesReplaced = oldIndexNames.count
        try repository.confirmLocksHeld()
        // Counted by what the index says each pack holds (stored bytes; orphans by their size).
        var packBytes: [SHA256Digest: UInt64] = [:]
        for pack in repack + delete.compactMap({ packs[$0] }) {
            packBytes[pack.id] = pack.entries.reduce(0) { $0 + UInt64($1.storedLength) }
        }
        progress?.setPhase("deleting", total: packBytes.values.reduce(orphanBytes, +))
        try repository.deletePacks(delete + repack.map(\.id)) { progress?.add(files: 1, bytes: packBytes[$0] ?? 0) }
        try repository.deletePacks(orphans)
        progress?.add(files: UInt64(orphans.count), bytes: orphanBytes)
        return result
    }

    /// The still-used blobs of the packs to repack, each once (a blob may sit in several packs) and
    /// none a kept pack already holds, in the order they are copied.
    static func repackPlan(keep: [IndexedPack], repack: [IndexedPack],
                           used: Set<BlobID>) -> [(IndexedPack, PackEntry)] {
        var written = Set<BlobID>()
        for pack in keep { for e in pack.entries { written.insert(e.id) } }
        var moves: [(IndexedPack, PackEntry)] = []
        for pack in repack {
            for e in pack.entries where used.contains(e.id) && written.insert(e.id).inserted { moves.append((pack, e)) }
        }
        return moves
    }

    /// Before anything is written or deleted, the listings the marking relied on are read again and
    /// must agree: a store that answers a listing short without saying so (a flaky server, a proxy,
    /// an eventually consistent listing) would otherwise make used packs look unreferenced. Under
    /// the exclusive lock nothing may add or remove snapshots or index files meanwhile.
    private func crossCheck(snapshots: Set<String>, indexFiles: Set<String>) throws {
        let snapshotsNow = Set(try repository.listSnapshotIDs())
        let indexNow = Set(try repository.listIndexFileNames())
        guard snapshotsNow == snapshots, indexNow == indexFiles else {
            let differ = snapshotsNow.symmetricDifference(snapshots).union(indexNow.symmetricDifference(indexFiles))
            throw VaultError(.storageFailure, "prune stopped: two listings of the repository disagree (\(differ.count) object(s) listed once only), so what is unused cannot be known",
                             hint: "the storage answered a listing inconsistently; nothing was deleted; check the storage and run the command again")
        }
    }
}
