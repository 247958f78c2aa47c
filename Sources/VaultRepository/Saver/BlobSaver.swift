import Foundation
import VaultCore

/// The one place blobs become packs (issue 16; restic's `WithBlobUploader`/`SaveBlob` is the
/// model). Used only through `Repository.withBlobSaver`, which owns the order of FORMAT.md §10:
/// data packs are durable before an index file names them, tree packs are stored after every data
/// pack, and index files come before the snapshot the caller writes afterwards.
///
/// Two ways in: `submit` queues a blob for the saver's worker threads, each of which owns a codec
/// and a pack writer per blob type (the hot path of a backup takes no lock but the dedup claim);
/// `save` seals a blob on the calling thread into the callers' own writer of that type.
public final class BlobSaver: @unchecked Sendable {
    // Safe: the mutable state (`firstError`, counters, the callers' writers, held tree packs) is
    // only touched under `lock` or `callerLock`; the queue, budget and collaborators lock themselves.

    public enum Mode: Sendable {
        /// Backup and copy: a blob the index (or this saver) already has is not stored again; each
        /// stored pack joins the index, and an index file is written every `indexEvery` packs and
        /// at the end.
        case adding(indexEvery: Int)
        /// Prune and pack repair: every blob is stored as asked (the caller's plan decides what
        /// moves, as restic's `storeDuplicate`); the packs are returned in `Summary.packs`, not
        /// indexed: the caller writes the index that replaces the old one.
        case repacking
    }

    /// What a saver stored.
    public struct Summary: Sendable {
        /// Data blobs stored now (not found in the index), and their plaintext bytes.
        public var dataBlobs: UInt64 = 0
        public var dataBytes: UInt64 = 0
        /// Bytes of every pack stored (data and trees).
        public var storedBytes: UInt64 = 0
        /// The packs stored, in the order they were stored (repacking only).
        public var packs: [IndexedPack] = []
    }

    /// Chunk bytes in flight (queued or being sealed). A caller acquires a blob's length before it
    /// makes the blob's buffer; the saver gives it back once the blob is done.
    public let budget: ByteBudget
    private let repository: Repository
    private let dedup: DedupSet?
    private let collector: IndexCollector
    private let uploader: PackUploader
    private let pool: WorkerPool<Job>
    private let workers: Int
    private let lock = NSLock()
    private var firstError: Error?
    private var dataBlobs: UInt64 = 0
    private var dataBytes: UInt64 = 0
    /// Full tree packs wait here (sealed, in their spool files) until the data packs are stored.
    private var heldTrees: [FinishedPack] = []
    private let callerLock = NSLock()
    private var callerWriters: [BlobType: PackWriter] = [:]
    private let callerCodec: BlobCodec
    private let spares: SpareBuffers

    struct Job {
        var type: BlobType
        var buffer: [UInt8]
        var length: Int
        var id: BlobID?
        var done: (@Sendable (BlobID) -> Void)?
        var group: DispatchGroup
    }

    init(repository: Repository, mode: Mode, workers: Int) {
        self.repository = repository; self.workers = workers
        switch mode {
        case .adding(let every):
            let dedup = DedupSet(index: repository.index)
            self.dedup = dedup
            collector = IndexCollector(repository: repository, every: every, dedup: dedup)
        case .repacking:
            dedup = nil
            collector = IndexCollector(repository: repository, every: nil, dedup: nil)
        }
        uploader = PackUploader(repository: repository, collector: collector)
        callerCodec = repository.makeCodec()
        pool = WorkerPool(capacity: max(1, workers) * 4)
        // 1.5 × the maximum chunk (6 MiB), about six average chunks: enough to keep every worker
        // busy whatever the data size.
        budget = ByteBudget(limit: 3 * repository.config.chunker.maxSize / 2)
        // Enough for what is queued and being sealed at the budget's usual chunk sizes.
        spares = SpareBuffers(size: repository.config.chunker.maxSize, keep: max(1, workers) * 2 + 2)
        pool.start(workers, name: "blob-saver") { [self] in work() }
    }

    /// A buffer of at least `count` bytes for `submit`, one the workers are done with when there is
    /// one; its content is unspecified (the caller overwrites the `length` bytes it submits).
    public func chunkBuffer(_ count: Int) -> [UInt8] { spares.take(count) }

    /// How many buffers `chunkBuffer` had to allocate rather than reuse.
    public var chunkBuffersAllocated: Int { spares.allocated }

    /// The first failure of a worker or an upload; the caller stops feeding the saver when set.
    public var error: Error? { lock.withLock { firstError } ?? uploader.error }

    private func fail(_ e: Error) { lock.withLock { if firstError == nil { firstError = e } } }

    /// Queues a blob for the workers (blocks while the queue is full): hashed unless `id` is given
    /// (already checked against the bytes), told to `done`, deduplicated, sealed, packed. `group`
    /// is entered now and left once the blob is done; a failure shows in `error`. The caller has
    /// acquired `length` bytes of `budget` for it.
    public func submit(
        _ buffer: [UInt8], length: Int, type: BlobType = .data, id: BlobID? = nil,
        group: DispatchGroup, done: (@Sendable (BlobID) -> Void)? = nil
    ) {
        precondition(workers > 0, "submit needs a saver with workers")
        group.enter()
        pool.queue.push(Job(type: type, buffer: buffer, length: length, id: id, done: done, group: group))
    }

    /// Saves a blob on the calling thread; returns its id (hashed unless given) and whether it was
    /// stored now (false: the index or this saver already had it).
    @discardableResult
    public func save(_ type: BlobType, _ plaintext: UnsafeRawBufferPointer, id known: BlobID? = nil) throws
        -> (id: BlobID, stored: Bool)
    {
        let id = known ?? SHA256.hash(plaintext)
        guard dedup?.claim(id) ?? true else { return (id, false) }
        var copy = Array(plaintext)
        try callerLock.withLock {
            try copy.withUnsafeMutableBytes {
                try add(type, id, $0, to: &callerWriters[type], codec: callerCodec, onWorker: false)
            }
        }
        return (id, true)
    }

    private func work() {
        let codec = repository.makeCodec()
        var writers: [BlobType: PackWriter] = [:]
        while var job = pool.queue.pop() {
            defer { spares.put(&job.buffer); budget.release(job.length); job.group.leave() }
            if error != nil { continue }
            do {
                let id =
                    job.id
                    ?? job.buffer.withUnsafeBytes {
                        SHA256.hash(UnsafeRawBufferPointer(rebasing: $0[0..<job.length]))
                    }
                job.done?(id)
                guard dedup?.claim(id) ?? true else { continue }
                // The queue no longer references the buffer, so this is its only owner: sealing in
                // place does not copy it.
                try job.buffer.withUnsafeMutableBytes {
                    try add(
                        job.type, id, UnsafeMutableRawBufferPointer(rebasing: $0[0..<job.length]),
                        to: &writers[job.type], codec: codec, onWorker: true)
                }
            } catch {
                fail(error)
            }
        }
        // Queue closed: this worker's last partial packs.
        for writer in writers.values { close(writer, codec: codec, keep: true) }
    }

    /// Seals `plaintext` into `writer` (opened on first use); a full pack is finished and sent on:
    /// a worker's to the uploader's thread, the caller's stored before `save` returns.
    private func add(
        _ type: BlobType, _ id: BlobID, _ plaintext: UnsafeMutableRawBufferPointer,
        to writer: inout PackWriter?, codec: BlobCodec, onWorker: Bool
    ) throws {
        if writer == nil { writer = try repository.newPackWriter(type: type) }
        let length = plaintext.count
        _ = try writer!.add(id: id, consuming: plaintext, codec: codec)
        if type == .data {
            lock.withLock {
                dataBlobs += 1; dataBytes += UInt64(length)
            }
        }
        if writer!.size >= repository.config.packSize {
            let full = writer!
            writer = nil
            try send(try full.finish(codec: codec), type, queued: onWorker)
        }
    }

    /// Data packs go to the uploader at once (`queued`: to its thread; else stored on this one);
    /// tree packs wait for `finish` (trees last).
    private func send(_ pack: FinishedPack, _ type: BlobType, queued: Bool) throws {
        if type == .tree {
            lock.withLock { heldTrees.append(pack) }
        } else if queued {
            uploader.submit(pack)
        } else {
            try uploader.store(pack)
        }
    }

    /// Finishes and sends a last partial pack, or drops it (`keep` false, a failure, or empty).
    private func close(_ writer: PackWriter, codec: BlobCodec, keep: Bool) {
        guard keep, error == nil, !writer.isEmpty else { writer.abandon(); return }
        do { try send(try writer.finish(codec: codec), writer.blobType, queued: true) } catch { fail(error) }
    }

    /// Ends the saver: the workers' and callers' last data packs are stored and indexed, then (when
    /// `keepingTrees`: the caller's work succeeded) the tree packs, then the last index file. A
    /// failed run still stores and indexes its complete data, which the next run reuses; its trees
    /// are dropped (they may name data that was never stored).
    func finish(keepingTrees: Bool) throws -> Summary {
        pool.finish()
        callerLock.withLock {
            if let data = callerWriters.removeValue(forKey: .data) { close(data, codec: callerCodec, keep: true) }
        }
        let uploaded = Result { try uploader.finish() }
        var failure = lock.withLock { firstError }
        if failure == nil, case .failure(let e) = uploaded { failure = e }
        let trees = keepingTrees && failure == nil
        callerLock.withLock {
            for writer in callerWriters.values { close(writer, codec: callerCodec, keep: trees) }
            callerWriters = [:]
        }
        let held = lock.withLock {
            let h = heldTrees; heldTrees = []; return h
        }
        var treeFailure: Error?
        for pack in held {
            guard trees, treeFailure == nil else { _ = try? Posix.unlink(pack.path); continue }
            do { try repository.storePack(pack); try collector.add(pack) } catch {
                _ = try? Posix.unlink(pack.path)
                treeFailure = error
            }
        }
        // Even after a failure: the index file names only packs already stored.
        let indexed = Result { try collector.flush() }
        if let e = failure ?? treeFailure { throw e }
        try indexed.get()
        return Summary(
            dataBlobs: lock.withLock { dataBlobs }, dataBytes: lock.withLock { dataBytes },
            storedBytes: collector.storedBytes, packs: collector.packs)
    }
}
