import Foundation
import Synchronization
import VaultCore
import VaultRepository

/// The drill's workers: each job is one range read of a pack (one chunk, or from a network store
/// chunks that lie back to back), every blob in it opened (authenticated, decompressed, hashed)
/// and then dropped. The first error stops the work and names the chunk and its file.
final class DrillReader: Sendable {
    struct Piece: PackPlaced { let id: BlobID; let location: BlobLocation }
    struct Job { let path: String; let pieces: [Piece] }

    private let pool: WorkerPool<Job>
    var queue: BlockingQueue<Job> { pool.queue }
    private let repository: Repository
    private let progress: JobProgress?
    private struct Tally { var firstError: (any Error)?; var chunks: UInt64 = 0; var bytesFetched: UInt64 = 0 }
    /// The counters and the first error, written by every worker.
    private let tally = Mutex(Tally())

    init(repository: Repository, workers: Int, progress: JobProgress?) {
        self.repository = repository; self.progress = progress
        pool = WorkerPool(capacity: workers * 4)
        pool.start(workers, name: "drill-reader") { [self] in work() }
    }

    var error: Error? { tally.withLock { $0.firstError } }
    var chunks: UInt64 { tally.withLock { $0.chunks } }
    var bytesFetched: UInt64 { tally.withLock { $0.bytesFetched } }

    func finish() throws {
        pool.finish()
        if let e = error { throw e }
    }

    private func work() {
        let codec = repository.makeCodec()
        while let job = queue.pop() {
            guard error == nil else { continue }  // drain the queue so the walker never blocks
            do { try read(job, codec) } catch { tally.withLock { if $0.firstError == nil { $0.firstError = error } } }
        }
    }

    private func read(_ job: Job, _ codec: BlobCodec) throws {
        guard let first = job.pieces.first, let last = job.pieces.last else { return }
        let start = Int(first.location.entry.offset)
        let end = Int(last.location.entry.offset) + Int(last.location.entry.storedLength)
        var current = first
        do {
            let sizes: [Int] = try repository.readPackRange(first.location.pack, start..<end) { sealed in
                try sealed.withUnsafeBytes { all in
                    try job.pieces.map { piece in
                        current = piece
                        let from = Int(piece.location.entry.offset) - start
                        let length = Int(piece.location.entry.storedLength)
                        let sealed = UnsafeRawBufferPointer(rebasing: all[from..<from + length])
                        return try repository.openBlob(sealed, at: piece.location, codec: codec).count
                    }
                }
            }
            let total = UInt64(sizes.reduce(0, +))
            tally.withLock {
                $0.chunks += UInt64(sizes.count); $0.bytesFetched += total
            }
            progress?.add(bytes: total)
        } catch let e as VaultError {
            let pack = current.location.pack.hex.prefix(8)
            throw VaultError(
                e.code,
                "restore drill: chunk \(current.id.shortHex) of \(job.path) (pack \(pack)): "
                    + e.message, cause: e.cause, hint: e.hint)
        }
    }
}
