import Foundation
import VaultCore
import VaultRepository

/// The chunk ids of one file, filled in by workers as its chunks are hashed.
final class FileChunks: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [BlobID] = []
    private var bytes: UInt64 = 0
    private var runs: [ZeroRun] = []
    private var content: ContentTransform?

    /// The bytes actually read (the reader sets it when the file is done).
    var size: UInt64 {
        get { lock.withLock { bytes } }
        set { lock.withLock { bytes = newValue } }
    }

    /// The zero runs the reader recorded (holes, preallocated space, all-zero chunks).
    var zeroRuns: [ZeroRun] { lock.withLock { runs } }

    /// How the stored bytes differ from the file's (a de-obfuscated block file).
    var transform: ContentTransform? { lock.withLock { content } }

    func finish(size: UInt64, zeroRuns: [ZeroRun], transform: ContentTransform? = nil) {
        lock.withLock { bytes = size; runs = zeroRuns; content = transform }
    }

    func reserve() -> Int { lock.withLock { ids.append(.zero); return ids.count - 1 } }
    func set(_ i: Int, _ id: BlobID) { lock.withLock { ids[i] = id } }
    var all: [BlobID] { lock.withLock { ids } }
}

struct ChunkJob {
    var buffer: [UInt8]
    var length: Int
    /// Where the chunk's id goes: a backed-up file's chunk list, or nothing (a copied blob, whose
    /// id the tree already names).
    var destination: (file: FileChunks, slot: Int)?
    /// The id when it is already known and checked (a blob read back from a repository).
    var id: BlobID?
    var group: DispatchGroup
}

/// Worker threads that hash, deduplicate, compress, encrypt and spool chunks. Each worker owns a
/// codec and a pack writer, so the hot path takes no lock but the dedup check.
final class ChunkSaver: @unchecked Sendable {
    private let pool: WorkerPool<ChunkJob>
    var queue: BlockingQueue<ChunkJob> { pool.queue }
    let budget: ByteBudget
    private let repository: Repository
    private let dedup: DedupSet
    private let uploader: PackUploader
    private let lock = NSLock()
    private var firstError: Error?
    private(set) var newBytes: UInt64 = 0
    private(set) var newChunks: UInt64 = 0

    init(repository: Repository, dedup: DedupSet, collector: IndexCollector, workers: Int) {
        self.repository = repository; self.dedup = dedup
        uploader = PackUploader(repository: repository, collector: collector)
        pool = WorkerPool(capacity: workers * 4)
        // Chunk bytes in flight (queued or being sealed): 1.5 × the maximum chunk (6 MiB), about six
        // average chunks, enough to keep every worker busy whatever the data size.
        budget = ByteBudget(limit: 3 * repository.config.chunker.maxSize / 2)
        pool.start(workers, name: "chunk-saver") { [self] in work() }
    }

    var error: Error? { lock.withLock { firstError } ?? uploader.error }

    private func fail(_ e: Error) { lock.withLock { if firstError == nil { firstError = e } } }

    private func work() {
        let codec = repository.makeCodec()
        var writer: PackWriter?
        while var job = queue.pop() {
            defer { budget.release(job.length); job.group.leave() }
            if error != nil { continue }
            do {
                let id = job.id ?? job.buffer.withUnsafeBytes { SHA256.hash(UnsafeRawBufferPointer(rebasing: $0[0..<job.length])) }
                job.destination?.file.set(job.destination!.slot, id)
                guard dedup.claim(id) else { continue }
                if writer == nil { writer = try repository.newPackWriter(type: .data) }
                // The queue no longer references the buffer, so this is its only owner: sealing in
                // place does not copy it.
                _ = try job.buffer.withUnsafeMutableBytes { try writer!.add(id: id, consuming: UnsafeMutableRawBufferPointer(rebasing: $0[0..<job.length]), codec: codec) }
                lock.withLock { newBytes += UInt64(job.length); newChunks += 1 }
                if writer!.size >= repository.config.packSize {
                    try store(writer!, codec)
                    writer = nil
                }
            } catch {
                fail(error)
            }
        }
        // Queue closed: the last partial pack of this worker.
        if let w = writer {
            if error == nil && !w.isEmpty {
                do { try store(w, codec) } catch { fail(error) }
            } else {
                w.abandon()
            }
        }
    }

    private func store(_ writer: PackWriter, _ codec: BlobCodec) throws {
        try uploader.submit(try writer.finish(codec: codec))
    }

    /// Closes the queue, waits for every worker to flush its pack and for every pack to be stored.
    func finish() throws {
        pool.finish()
        let uploaded = Result { try uploader.finish() }
        if let e = lock.withLock({ firstError }) { throw e }
        try uploaded.get()
    }
}
