import Foundation
import VaultCore

/// Hands finished packs to the backend and then to the `IndexCollector` (FORMAT.md §10: a pack is
/// durable before anything names it). A local repository takes a pack with a rename, so that
/// happens on the worker that finished it; a network store waits on round trips, so
/// `preferredConcurrency` uploader threads keep that many transfers in flight while the workers go
/// on compressing. Packs wait in their spool files, so memory stays flat; the queue bounds how many
/// wait.
final class PackUploader: @unchecked Sendable {
    // Safe: `firstError` is only read and written under `lock`; the pool and collector lock themselves.
    private let repository: Repository
    private let collector: IndexCollector
    private let pool: WorkerPool<FinishedPack>?
    private let lock = NSLock()
    private var firstError: Error?

    init(repository: Repository, collector: IndexCollector) {
        self.repository = repository; self.collector = collector
        let n = repository.preferredConcurrency
        if n > 1 {
            let pool = WorkerPool<FinishedPack>(capacity: n)
            self.pool = pool
            pool.start(n, name: "pack-upload") { [self] in
                while let pack = pool.queue.pop() { upload(pack) }
            }
        } else {
            pool = nil
        }
    }

    var error: Error? { lock.withLock { firstError } }

    func submit(_ pack: FinishedPack) throws {
        if let pool { pool.queue.push(pack) } else { try store(pack) }
    }

    private func upload(_ pack: FinishedPack) {
        if error != nil { _ = try? Posix.unlink(pack.path); return }
        do { try store(pack) } catch {
            _ = try? Posix.unlink(pack.path)
            lock.withLock { if firstError == nil { firstError = error } }
        }
    }

    /// The index entry is added only once the pack is durable in storage.
    private func store(_ pack: FinishedPack) throws {
        try repository.storePack(pack)
        try collector.add(pack)
    }

    /// Waits for every submitted pack to be stored and indexed.
    func finish() throws {
        pool?.finish()
        if let e = error { throw e }
    }
}
