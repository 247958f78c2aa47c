import Foundation
import VaultCore
import VaultRepository

public struct DrillResult: Sendable {
    public let snapshotID: SnapshotID
    public let files: UInt64
    public let directories: UInt64
    /// The bytes a restore of the snapshot writes (every file's size, zero runs included).
    public let bytes: UInt64
    /// Distinct chunks fetched, authenticated, decompressed and hashed, and their plaintext bytes.
    public let chunks: UInt64
    public let bytesFetched: UInt64
    public let seconds: Double
    /// Scratch directories of interrupted drills that this drill removed first.
    public var clearedScratch: [String] = []
    /// `bytes` per second: with `seconds`, what a restore of this snapshot can be expected to take.
    public var bytesPerSecond: Double { seconds > 0 ? Double(bytes) / seconds : 0 }
}

/// Proves that a snapshot restores without writing a copy of it (FORMAT.md §8, "Drills"): every
/// tree is read and parsed as a restore parses it, every file's chunks are looked up and must tile
/// its size with its zero runs, and every distinct chunk is fetched, authenticated, decompressed
/// and hashed on worker threads, reading across packs in parallel as the restorer does. The
/// plaintext goes nowhere. Memory is bounded by the queue (workers × 4 jobs of at most 8 MiB) and
/// the set of chunk ids already read; the walk is iterative (trees are as deep as the source).
public final class SnapshotDrill {
    private let repository: Repository
    private let progress: JobProgress?
    private let cancellation: Cancellation
    private let workers: Int

    public init(
        repository: Repository, workers: Int = max(2, Parallel.cores), progress: JobProgress? = nil,
        cancellation: Cancellation = Cancellation()
    ) {
        self.repository = repository; self.workers = workers; self.progress = progress; self.cancellation = cancellation
    }

    public func run(_ record: SnapshotRecord) throws -> DrillResult {
        let started = Date()
        try repository.loadIndex()
        let root = record.snapshot.tree
        guard record.snapshot.root?.extendedAttributes() != nil || record.snapshot.root == nil else {
            throw VaultError(
                .corrupt,
                "snapshot \(record.shortID) records extended attributes of its root beyond Linux's limits",
                hint: "the snapshot was crafted or damaged: it cannot be restored")
        }
        progress?.setTotal(record.snapshot.stats.bytesTotal)
        let reader = DrillReader(repository: repository, workers: workers, progress: progress)
        let walked: Walked
        do { walked = try walk(root, reader: reader, snapshot: record) } catch { try? reader.finish(); throw error }
        try reader.finish()
        return DrillResult(
            snapshotID: record.id, files: walked.files, directories: walked.directories,
            bytes: walked.bytes, chunks: reader.chunks, bytesFetched: reader.bytesFetched,
            seconds: Date().timeIntervalSince(started))
    }

    private struct Walked { var files: UInt64 = 0; var directories: UInt64 = 0; var bytes: UInt64 = 0 }

    private func walk(_ root: BlobID, reader: DrillReader, snapshot: SnapshotRecord) throws -> Walked {
        let codec = repository.makeCodec()
        let incomplete = Set(snapshot.snapshot.incomplete ?? [])
        var seen = Set<BlobID>()
        var counts = Walked(directories: 1)
        // Depth-first in canonical order, one tree held per level (`TreeWalker`); paths are
        // relative to the snapshot root, as `incomplete` names them.
        let walker = TreeWalker(repository: repository, codec: codec, cancellation: cancellation)
        try walker.walk(
            root: root, relative: true,
            { path, node in
                switch node.kind {
                case .directory:
                    guard node.subtree != nil else {
                        throw VaultError(.corrupt, "restore drill: directory \(FileName.display(path)) names no tree")
                    }
                    if let e = reader.error { throw e }
                    counts.directories += 1
                    return .descend
                case .file:
                    let relative = FileName.display(path)
                    counts.files += 1
                    counts.bytes &+= node.size
                    try check(node, relative, cut: incomplete.contains(relative), seen: &seen, reader: reader)
                default:
                    break
                }
                return .skipSubtree
            })
        return counts
    }

    /// What the restorer checks before writing a file, then its chunks not read yet to the workers.
    private func check(_ node: Node, _ path: String, cut: Bool, seen: inout Set<BlobID>, reader: DrillReader) throws {
        var pieces: [DrillReader.Piece] = []
        var lengths: [UInt64] = []
        lengths.reserveCapacity(node.chunks.count)
        for id in node.chunks {
            guard let location = repository.index.lookup(id) else {
                throw VaultError(
                    .missing, "restore drill: chunk \(id.shortHex) of \(path) is not in the repository",
                    hint: "the repository is damaged; run 'chainvault verify' and restore from another "
                        + "snapshot")
            }
            lengths.append(UInt64(location.entry.rawLength))
            if seen.insert(id).inserted { pieces.append(.init(id: id, location: location)) }
        }
        // Chunks and zero runs must tile the file exactly (FORMAT.md §7); a file the backup could
        // not read completely is short by design, and restored as short.
        if !cut && node.chunkOffsets(rawLengths: lengths) == nil {
            let zero = node.zeroRuns.reduce(0) { $0 &+ $1.length }
            let total = lengths.reduce(0, &+) &+ zero
            throw VaultError(
                .corrupt,
                "restore drill: \(path): its chunks and zero runs add up to \(total) bytes "
                    + "but the snapshot records \(node.size)",
                hint: "the snapshot is damaged: restore from another one")
        }
        progress?.add(files: 1)
        for group in PackRangePlanner.plan(pieces, span: PackRangePlanner.span(for: repository)) {
            reader.queue.push(DrillReader.Job(path: path, pieces: group))
        }
    }
}
