import Foundation
import Glibc
import VaultCore
import VaultRepository

/// A file being restored: its descriptor, the metadata to apply once its last chunk is written,
/// and (for delta restores) the live file whose bytes may be reused.
final class RestoreFile: @unchecked Sendable {
    let fd: Int32
    let node: Node
    let path: String
    let previousFD: Int32
    private let lock = NSLock()
    private var remaining: Int

    init(fd: Int32, node: Node, path: String, previousFD: Int32, chunks: Int) {
        self.fd = fd; self.node = node; self.path = path; self.previousFD = previousFD; remaining = chunks
    }

    /// True for the caller that completed the last chunk.
    func chunkDone() -> Bool { lock.withLock { remaining -= 1; return remaining == 0 } }

    /// Applies mode, owner and times (after the content, since writing changes mtime) and closes.
    func finish(applyOwner: Bool) throws {
        defer {
            Posix.close(fd)
            if previousFD >= 0 { Posix.close(previousFD) }
        }
        if applyOwner { _ = fchown(fd, node.uid, node.gid) }
        if fchmod(fd, mode_t(node.mode)) != 0 { throw Posix.error("set the mode of", path) }
        var times = [Glibc.timespec](repeating: RestoreFile.time(node.mtimeNanos), count: 2)
        if futimens(fd, &times) != 0 { throw Posix.error("set the times of", path) }
    }

    static func time(_ nanos: Int64) -> Glibc.timespec {
        var s = nanos / 1_000_000_000, n = nanos % 1_000_000_000
        if n < 0 { s -= 1; n += 1_000_000_000 }
        return Glibc.timespec(tv_sec: Int(s), tv_nsec: Int(n))
    }
}

struct WriteJob {
    let file: RestoreFile
    let offset: Int
    let id: BlobID
    let location: BlobLocation
}

/// Worker threads that fetch chunks (or reuse them from the live file), check each against its
/// SHA-256, and write them at their offsets.
final class FileRestorer: @unchecked Sendable {
    private let pool: WorkerPool<WriteJob>
    var queue: BlockingQueue<WriteJob> { pool.queue }
    private let repository: Repository
    private let progress: JobProgress?
    private let applyOwner: Bool
    private let lock = NSLock()
    private var firstError: Error?
    private(set) var bytesFetched: UInt64 = 0
    private(set) var bytesReused: UInt64 = 0

    init(repository: Repository, workers: Int, applyOwner: Bool, progress: JobProgress?) {
        self.repository = repository; self.applyOwner = applyOwner; self.progress = progress
        pool = WorkerPool(capacity: workers * 4)
        pool.start(workers, name: "file-restorer") { [self] in work() }
    }

    var error: Error? { lock.withLock { firstError } }
    func fail(_ e: Error) { lock.withLock { if firstError == nil { firstError = e } } }

    private func work() {
        let codec = repository.makeCodec()
        var local: [UInt8] = []
        while let job = queue.pop() {
            if error == nil {
                do {
                    let length = Int(job.location.entry.rawLength)
                    var reused = false
                    if job.file.previousFD >= 0 {
                        // Delta: the live file's bytes at the same offset, if they hash to the chunk id.
                        if local.count < length { local = [UInt8](repeating: 0, count: length) }
                        let n = try local.withUnsafeMutableBytes {
                            try Posix.pread(job.file.previousFD, UnsafeMutableRawBufferPointer(rebasing: $0[0..<length]), offset: job.offset, path: job.file.path)
                        }
                        if n == length, local.withUnsafeBytes({ SHA256.hash(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }) == job.id {
                            try local.withUnsafeBytes { try Posix.pwriteAll(job.file.fd, UnsafeRawBufferPointer(rebasing: $0[0..<length]), offset: job.offset, path: job.file.path) }
                            reused = true
                        }
                    }
                    if !reused {
                        // readBlob authenticates, decompresses and checks the SHA-256 before we write a byte.
                        let bytes = try repository.readBlob(at: job.location, codec: codec)
                        try bytes.withUnsafeBytes { try Posix.pwriteAll(job.file.fd, $0, offset: job.offset, path: job.file.path) }
                    }
                    lock.withLock { if reused { bytesReused += UInt64(length) } else { bytesFetched += UInt64(length) } }
                    progress?.add(bytes: UInt64(length))
                } catch {
                    fail(VaultError.wrap(error, .failure, "cannot restore \(job.file.path)"))
                }
            }
            if job.file.chunkDone() {
                do { try job.file.finish(applyOwner: applyOwner) } catch { fail(error) }
                progress?.add(files: 1)
            }
        }
    }

    func finish() throws {
        pool.finish()
        if let e = error { throw e }
    }
}
