import Foundation
import Synchronization
import VaultCore
import VaultRepository

public struct CopyOptions: Sendable {
    /// Snapshot references in the source (ids, prefixes, `latest`); empty: all of them.
    public var snapshots: [String] = []
    public init() {}
}

public struct CopyResult: Sendable {
    /// (source id, destination id) of each snapshot copied now.
    public var copied: [(source: SnapshotID, destination: SnapshotID)] = []
    /// Source ids already present in the destination.
    public var alreadyPresent: [SnapshotID] = []
    public var blobsCopied: UInt64 = 0
    public var bytesCopied: UInt64 = 0
    public var bytesStored: UInt64 = 0
    public var recoveredPacks = 0
    public var durationSeconds = 0.0
}

/// Copies snapshots between repositories, moving only the blobs the destination lacks. Blob ids
/// are SHA-256 of plaintext, the same in every repository, so "lacks" is an index lookup; each
/// blob is read from the source (authenticated, decompressed, hash-checked), then compressed,
/// encrypted and packed for the destination's key by the same pipeline as a backup. Resumable: a
/// killed copy leaves indexed packs that the next run does not send again. The snapshot itself is
/// written last, after all its data is durable and indexed, and records the source id as
/// `original` so it is never copied twice. At the end the destination's structure is verified
/// for every snapshot copied.
public final class Copier {
    let source: Repository
    let destination: Repository
    let progress: JobProgress?
    let cancellation: Cancellation

    public init(
        source: Repository, destination: Repository, progress: JobProgress? = nil,
        cancellation: Cancellation = Cancellation()
    ) {
        self.source = source; self.destination = destination; self.progress = progress; self.cancellation = cancellation
    }

    public func run(_ options: CopyOptions) throws -> CopyResult {
        let started = Date()
        var result = CopyResult()
        try source.loadIndex()
        try destination.loadIndex()
        result.recoveredPacks = try destination.recoverUnindexedPacks().packs

        let wanted: [SnapshotRecord] =
            options.snapshots.isEmpty
            ? try source.listSnapshots().sorted { $0.snapshot.time < $1.snapshot.time }
            : try options.snapshots.map { try source.resolveSnapshot($0) }
        var present = Set(try destination.listSnapshots().flatMap { [$0.id, $0.snapshot.original].compactMap { $0 } })
        let toCopy = wanted.filter { !present.contains($0.snapshot.original ?? $0.id) && !present.contains($0.id) }
        progress?.setPhase("copying", total: toCopy.reduce(0) { $0 + $1.snapshot.stats.bytesTotal })

        for record in wanted {
            if cancellation.isCancelled { throw VaultError(.interrupted, "copy interrupted") }
            let originalID = record.snapshot.original ?? record.id
            if present.contains(originalID) || present.contains(record.id) {
                result.alreadyPresent.append(record.id)
                continue
            }
            let copied = try copy(record, &result)
            result.copied.append((record.id, copied))
            present.insert(originalID)  // named twice on the command line: copied once
        }
        // The destination checks what it now holds: every blob of every copied snapshot indexed
        // and in a pack that exists.
        if !result.copied.isEmpty {
            progress?.setPhase("verifying")
            var verify = VerifyOptions()
            verify.snapshots = result.copied.map(\.destination.hex)
            let report = try Checker(repository: destination, options: verify).run()
            guard report.clean else {
                throw VaultError(
                    .corrupt,
                    "the destination \(destination.location) failed verification after the copy: "
                        + report.problems.prefix(5).map { "\($0.object): \($0.message)" }.joined(separator: "; "),
                    hint: "run 'chainvault verify' on the destination for the full list, then copy again")
            }
        }
        result.durationSeconds = Date().timeIntervalSince(started)
        return result
    }

    private func copy(_ record: SnapshotRecord, _ result: inout CopyResult) throws -> SnapshotID {
        let rootID = record.snapshot.tree
        let saved = try destination.withBlobSaver(.adding(indexEvery: 8), workers: Parallel.cores) { saver in
            let fetcher = BlobFetcher(
                source: source, destination: destination.index, saver: saver,
                threads: max(2, source.preferredConcurrency), cancellation: cancellation,
                progress: progress)
            // Drain in order: fetchers feed the saver, which stores the data packs before the tree
            // pack, and both long before the snapshot.
            do { try copyTrees(from: rootID, of: record, fetcher: fetcher, saver: saver) } catch {
                fetcher.finish()
                throw error
            }
            fetcher.finish()
            if let e = fetcher.error { throw e }
        }
        result.blobsCopied += saved.dataBlobs
        result.bytesCopied += saved.dataBytes
        result.bytesStored += saved.storedBytes

        var snapshot = record.snapshot
        snapshot.original = record.snapshot.original ?? record.id
        snapshot.parent = nil  // parent ids name source snapshots
        return try destination.saveSnapshot(snapshot)
    }

    /// Every tree is walked (cheap next to data), so a tree already in the destination never hides
    /// a missing descendant left by an interrupted run.
    private func copyTrees(
        from rootID: BlobID, of record: SnapshotRecord, fetcher: BlobFetcher,
        saver: BlobSaver
    ) throws {
        var seen: Set<BlobID> = [rootID]
        let codec = source.makeCodec()
        // Each tree is stored as read (its bytes, checked against its id by readBlob) as it is loaded.
        func load(_ id: BlobID) throws -> Tree {
            if cancellation.isCancelled { throw VaultError(.interrupted, "copy interrupted") }
            if let e = saver.error ?? fetcher.error { throw e }
            let plain = try source.readBlob(id, codec: codec)
            let tree = try Tree.decode(plain, what: "tree \(id.hex.prefix(8)) of snapshot \(record.shortID)")
            try plain.withUnsafeBytes { _ = try saver.save(.tree, $0, id: id) }
            return tree
        }
        try TreeWalker(load: load).walk(try load(rootID)) { _, node in
            for chunk in node.chunks { fetcher.fetch(chunk) }
            // A file counts as done once its chunks are queued; bytes move as they arrive.
            if node.kind == .file { progress?.add(files: 1) }
            guard let sub = node.subtree, seen.insert(sub).inserted else { return .skipSubtree }
            return .descend
        }
    }
}

/// Threads that read blobs from the source repository (each checked against its id) and hand
/// them to the destination's `BlobSaver`. Blobs the destination already has are skipped
/// without a read.
final class BlobFetcher: Sendable {
    private let source: Repository
    private let destination: MasterIndex
    private let saver: BlobSaver
    private let pool: WorkerPool<BlobID>
    private let cancellation: Cancellation
    /// The ids queued so far and the first error, written by the walk and every worker.
    private let state = Mutex<(queued: Set<BlobID>, firstError: (any Error)?)>(([], nil))
    private let group = DispatchGroup()
    private let progress: JobProgress?

    init(
        source: Repository, destination: MasterIndex, saver: BlobSaver, threads: Int, cancellation: Cancellation,
        progress: JobProgress?
    ) {
        self.source = source; self.destination = destination; self.saver = saver; self.cancellation = cancellation
        self.progress = progress
        pool = WorkerPool(capacity: threads * 4)
        pool.start(threads, name: "blob-fetch") { [self] in
            let codec = source.makeCodec()
            while let id = pool.queue.pop() { fetch(id, codec) }
        }
    }

    var error: Error? { state.withLock { $0.firstError } }

    /// Queues `id` unless the destination has it or it is already queued.
    func fetch(_ id: BlobID) {
        if destination.contains(id) || !state.withLock({ $0.queued.insert(id).inserted }) {
            // Nothing to fetch, but this much of the snapshot is done.
            progress?.add(bytes: UInt64(source.index.lookup(id)?.entry.rawLength ?? 0))
            return
        }
        pool.queue.push(id)
    }

    private func fetch(_ id: BlobID, _ codec: BlobCodec) {
        if error != nil || saver.error != nil || cancellation.isCancelled { return }
        do {
            let plain = try source.readBlob(id, codec: codec)
            progress?.add(bytes: UInt64(plain.count))
            saver.budget.acquire(plain.count)
            // readBlob has checked the plaintext against `id`: the saver need not hash it again.
            saver.submit(plain, length: plain.count, id: id, group: group)
        } catch {
            state.withLock { if $0.firstError == nil { $0.firstError = error } }
        }
    }

    func finish() { pool.finish() }
}
