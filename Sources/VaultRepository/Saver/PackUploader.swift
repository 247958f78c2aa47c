import Foundation
import VaultCore

/// Hands finished packs to the backend and then to the `IndexCollector` (FORMAT.md §10: a pack is
/// durable before anything names it), on threads of its own while the workers go on compressing:
/// `preferredConcurrency` of them, so a network store keeps that many transfers in flight, and one
/// for a local repository, whose pack waits for its fsync (10-75 ms on a virtual disk: a worker
/// that did it itself lost 2.3 s of a 1 GiB first backup's ~8.5). Packs wait in their spool files,
/// so memory stays flat; the queue bounds how many wait.
final class PackUploader: @unchecked Sendable {
    // Safe: `firstError` is only read and written under `lock`; the pool and collector lock themselves.
    private let repository: Repository
    private let collector: IndexCollector
    private let pool: WorkerPool<FinishedPack>
    private let lock = NSLock()
    private var firstError: Error?

    init(repository: Repository, collector: IndexCollector) {
        self.repository = repository; self.collector = collector
        let n = max(1, repository.preferredConcurrency)
        let pool = WorkerPool<FinishedPack>(capacity: n)
        self.pool = pool
        pool.start(n, name: "pack-upload") { [self] in
            while let pack = pool.queue.pop() { upload(pack) }
        }
    }

    var error: Error? { lock.withLock { firstError } }

    /// Queues a pack for the uploader's threads (blocks while the queue is full).
    func submit(_ pack: FinishedPack) {
        pool.queue.push(pack)
    }

    private func upload(_ pack: FinishedPack) {
        if error != nil { _ = try? Posix.unlink(pack.path); return }
        do { try store(pack) } catch {
            _ = try? Posix.unlink(pack.path)
            lock.withLock { if firstError == nil { firstError = error } }
        }
    }

    /// Stores a pack on the calling thread. The index entry is added only once the pack is durable
    /// in storage.
    func store(_ pack: FinishedPack) throws {
        try repository.storePack(pack)
        try collector.add(pack)
    }

    /// Waits for every submitted pack to be stored and indexed.
    func finish() throws {
        pool.finish()
        if let e = error { throw e }
    }
}
