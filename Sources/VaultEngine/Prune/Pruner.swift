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
    /// Packs in no index that are younger than `youngPackMargin`: kept, they may be a running backup's.
    public var youngPacksKept = 0
    /// Kept objects whose Object Lock retention was asked about, and lengthened (RetentionRenewal).
    public var retentionChecked = 0
    public var retentionExtended = 0
}

/// Removes data no snapshot references. Must run under an exclusive lock. Order (FORMAT.md,
/// "Prune"): repacked blobs are written to new packs; a new index naming every kept blob is written
/// in files of bounded size, the last superseding all old index files; only then are old index
/// files and packs deleted. Killed at any point, nothing still referenced is gone.
/// Memory: the index as a `PackTable` (~53 bytes a blob, a mark bit for "used"), whatever the
/// repository's size; the trees are read one at a time (`TreeWalker`: one held per directory level).
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
    public func run(dryRun: Bool = false, forgetting: Set<SnapshotID> = []) throws -> PruneResult {
        var result = PruneResult()
        let codec = repository.makeCodec()
        progress?.setPhase("listing", total: 0)
        let table = PackTable()
        let oldIndexNames = try repository.loadIndex(
            intoMemory: false,
            visit: { file in
                progress?.add(files: 1)
                for p in file.packs { table.add(p) }
            }, restart: { table.removeAll() }
        ).listed
        table.seal()

        // Everything the remaining (kept) snapshots use. An unreadable tree of a kept snapshot
        // aborts: what it references is unknown, and deleting on a guess loses data. Snapshots
        // being forgotten were deleted before this walk, so their damaged trees block nothing
        // (FORMAT.md, "Prune"). Each tree remembers the first snapshot that reached it, to name it.
        let snapshots = try repository.listSnapshots().filter { !forgetting.contains($0.id) }
        progress?.setPhase("marking", total: 0)
        for s in snapshots {
            let root = s.snapshot.tree
            try mark(root: root, of: s.shortID, in: table, codec: codec)
        }
        // Only the first copy of a used blob is marked (`PackTable.mark`): further copies, written
        // by backups that ran at once and each stored the same new data (nodes of one chain backing
        // up the same new blocks), count as unused, so their packs go or are repacked and the data
        // is kept once. The new index lists only kept packs, so every reader then finds that copy.
        // The copy kept is one the store lists: a pack missing from storage never keeps the mark.
        let listedPacks = try repository.listPacks()
        let present = Set(listedPacks.compactMap { PackID(hex: $0.name) })
        table.settleMarks(onPacksWhere: { present.contains(table.packID($0)) })

        var keep: [Int] = []
        var delete: [Int] = []
        var repack: [Int] = []
        var isKept = [Bool](repeating: false, count: table.packCount)
        for k in (0..<table.packCount).sorted(by: { table.packID($0) < table.packID($1) }) {
            var total: UInt64 = 0, unused: UInt64 = 0
            for i in table.blobRange(k) {
                let n = UInt64(table.storedLength(at: i))
                total += n
                if !table.isMarked(i) { unused += n }
            }
            if unused == 0 {
                keep.append(k); isKept[k] = true
            } else if unused == total {
                delete.append(k); result.bytesFreed += total
            } else if Double(unused) >= repackThreshold * Double(total) {
                repack.append(k); result.bytesFreed += unused
            } else {
                keep.append(k); isKept[k] = true
            }
        }
        // Packs no index knows: left by killed backups, or written by one still running. Only those
        // the store's clock says are old enough go; a pack of unknown age stays.
        let now = repository.storeNow()
        var orphans: [PackID] = []
        var packWritten: [String: Date] = [:]
        var orphanBytes: UInt64 = 0
        for info in listedPacks {
            packWritten[info.name] = info.modified
            guard let id = PackID(hex: info.name), table.ordinal(of: id) == nil else { continue }
            if let written = info.modified, now.timeIntervalSince(written) >= youngPackMargin {
                orphans.append(id)
                orphanBytes += UInt64(info.size)
            } else {
                result.youngPacksKept += 1
            }
        }
        result.packsDeleted = delete.count + orphans.count
        result.packsRepacked = repack.count
        result.packsKept = keep.count
        // Which blobs move is decided here, before the dry run returns, so both report one plan.
        let moves = Self.repackPlan(table, isKept: isKept, repack: repack)
        result.blobsRepacked = moves.count
        if dryRun { return result }
        try crossCheck(snapshots: Set(snapshots.map(\.id)), indexFiles: Set(oldIndexNames))
        // Before anything is written or deleted: a refusal leaves the repository as it was.
        if let outcome = try repository.extendRetention(
            keptSnapshots: Set(snapshots.map(\.id)), keptPacks: keep.map(table.packID),
            packWritten: packWritten, now: now.addingTimeInterval(clockOffset))
        {
            result.retentionChecked = outcome.checked
            result.retentionExtended = outcome.extended
        }

        // Repack: copy each still-used blob (read back and hash-checked) into new packs.
        progress?.setPhase("repacking", total: moves.reduce(0) { $0 + UInt64(table.storedLength(at: $1)) })
        let newPacks = try repository.withBlobSaver(.repacking) { saver in
            for position in moves {
                let location = table.location(at: position), e = location.entry
                defer { progress?.add(files: 1, bytes: UInt64(e.storedLength)) }
                let bytes = try repository.readBlob(at: location, codec: codec)
                try bytes.withUnsafeBytes { _ = try saver.save(e.type, $0, id: e.id) }
            }
        }.packs

        // The new index first (its last file supersedes every old one), then deletions. Kept packs
        // are turned back into entries one at a time, as each index file is encoded. Before the old
        // files go, the index files that stay current get their Object Lock retention lengthened.
        let kept = [AnySequence(keep.lazy.map(table.pack)), AnySequence(newPacks)].joined()
        try repository.replaceIndex(with: kept, superseding: oldIndexNames) { _ in
            if let outcome = try repository.extendRetentionOfCurrentIndexFiles(
                superseded: Set(oldIndexNames), now: now.addingTimeInterval(clockOffset))
            {
                result.retentionChecked += outcome.checked
                result.retentionExtended += outcome.extended
            }
        }
        try repository.confirmLocksHeld()
        // Counted by what the index says each pack holds (stored bytes; orphans by their size).
        let doomed = delete + repack
        var packBytes: [PackID: UInt64] = [:]
        for k in doomed {
            packBytes[table.packID(k)] = table.blobRange(k).reduce(UInt64(0)) {
                $0 + UInt64(table.storedLength(at: $1))
            }
        }
        progress?.setPhase("deleting", total: packBytes.values.reduce(orphanBytes, +))
        try repository.deletePacks(doomed.map(table.packID)) { progress?.add(files: 1, bytes: packBytes[$0] ?? 0) }
        try repository.deletePacks(orphans)
        progress?.add(files: UInt64(orphans.count), bytes: orphanBytes)
        return result
    }

    /// Marks every blob the snapshot `snapshot` reaches from `root`; a tree marked already (by an
    /// earlier snapshot, or earlier in this one) is not walked again.
    private func mark(root: BlobID, of snapshot: String, in table: PackTable, codec: BlobCodec) throws {
        func unreadable(_ id: BlobID, _ error: Error) -> VaultError {
            VaultError(
                .corrupt,
                "prune stopped: tree \(id.shortHex) of kept snapshot \(snapshot) cannot be read, "
                    + "so what it references is unknown",
                cause: error,
                hint: "run 'chainvault verify' and fix the repository first, or forget snapshot \(snapshot) "
                    + "if it cannot be repaired; nothing was deleted")
        }
        guard table.mark(root) != .already else { return }
        func load(_ id: BlobID) throws -> Tree {
            defer { progress?.add(files: 1) }
            return try repository.loadTree(id, from: table, codec: codec)
        }
        let rootTree: Tree
        do { rootTree = try load(root) } catch { throw unreadable(root, error) }
        let walker = TreeWalker(load: load)
        try walker.walk(
            rootTree,
            { _, node in
                for c in node.chunks where table.mark(c) == .absent {
                    throw VaultError(
                        .missing, "prune stopped: chunk \(c.shortHex) is referenced but not indexed",
                        hint: "run 'chainvault verify'; nothing was deleted")
                }
                guard let sub = node.subtree else { return .skipSubtree }
                return table.mark(sub) == .already ? .skipSubtree : .descend
            }, damaged: { _, node, error in throw unreadable(node.subtree!, error) })
    }

    /// The still-used blobs of the packs to repack (their table positions), each once (a blob may
    /// sit in several packs) and none a kept pack already holds, in the order they are copied.
    static func repackPlan(_ table: PackTable, isKept: [Bool], repack: [Int]) -> [Int] {
        var moved = Set<BlobID>()
        var moves: [Int] = []
        for k in repack {
            for i in table.blobRange(k) where table.isMarked(i) {
                guard table.hasCopiesOfBlobs else { moves.append(i); continue }
                let id = table.id(at: i)
                if table.positions(of: id).contains(where: { isKept[table.packOrdinal(at: $0)] }) { continue }
                if moved.insert(id).inserted { moves.append(i) }
            }
        }
        return moves
    }

    /// Before anything is written or deleted, the listings the marking relied on are read again and
    /// must agree: a store that answers a listing short without saying so (a flaky server, a proxy,
    /// an eventually consistent listing) would otherwise make used packs look unreferenced. Under
    /// the exclusive lock nothing may add or remove snapshots or index files meanwhile.
    private func crossCheck(snapshots: Set<SnapshotID>, indexFiles: Set<String>) throws {
        let snapshotsNow = Set(try repository.listSnapshotIDs())
        let indexNow = Set(try repository.listIndexFileNames())
        guard snapshotsNow == snapshots, indexNow == indexFiles else {
            let differ =
                snapshotsNow.symmetricDifference(snapshots).count + indexNow.symmetricDifference(indexFiles).count
            throw VaultError(
                .storageFailure,
                "prune stopped: two listings of the repository disagree (\(differ) object(s) listed once only), so what is unused cannot be known",
                hint:
                    "the storage answered a listing inconsistently; nothing was deleted; check the storage and run the command again"
            )
        }
    }
}
