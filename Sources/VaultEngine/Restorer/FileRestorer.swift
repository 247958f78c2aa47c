import Foundation
import Glibc
import VaultCore
import VaultRepository

/// A file being restored: its descriptor, the metadata to apply once its last chunk is written,
/// and (for delta restores) the live file whose bytes may be reused.
///
/// @unchecked: `remaining` is read and written only under `lock`; the descriptors are closed once,
/// by the worker whose `jobDone()` returned true.
final class RestoreFile: @unchecked Sendable {
    let fd: Int32
    let node: Node
    let path: String
    let previousFD: Int32
    private let lock = NSLock()
    private var remaining: Int

    init(fd: Int32, node: Node, path: String, previousFD: Int32, jobs: Int) {
        self.fd = fd; self.node = node; self.path = path; self.previousFD = previousFD; remaining = jobs
    }

    /// True for the caller that completed the file's last job.
    func jobDone() -> Bool {
        lock.withLock {
            remaining -= 1; return remaining == 0
        }
    }

    /// Applies mode, owner and times (after the content, since writing changes mtime) and closes.
    func finish(applyOwner: Bool, metadata: MetadataApplier) throws {
        defer {
            Posix.close(fd)
            if previousFD >= 0 { Posix.close(previousFD) }
        }
        let owned = !applyOwner || metadata.setOwner(fd: fd, uid: node.uid, gid: node.gid, path: path)
        try metadata.setXattrs(node, fd: fd, path: path)
        try Posix.setMode(fd, MetadataApplier.mode(node.mode, ownerSet: owned), path: path)
        let time = RestoreFile.time(node.mtimeNanos)
        try Posix.setTimes(fd, access: time, modification: time, path: path)
    }

    static func time(_ nanos: Int64) -> Glibc.timespec {
        var s = nanos / 1_000_000_000, n = nanos % 1_000_000_000
        if n < 0 { s -= 1; n += 1_000_000_000 }
        return Glibc.timespec(tv_sec: Int(s), tv_nsec: Int(n))
    }
}

/// One chunk of a file: where it goes in the file, and where it is in the repository.
struct Piece: PackPlaced {
    /// What this run already knows of the live file's bytes at `offset`.
    enum Live { case unknown, matches, differs }
    let offset: Int
    let id: BlobID
    let location: BlobLocation
    var live = Live.unknown
}

/// Chunks of one file that a single read fetches (grouped by `PackRangePlanner`).
struct WriteJob {
    let file: RestoreFile
    let pieces: [Piece]
}

/// Worker threads that fetch chunks (or reuse them from the live file), check each against its
/// SHA-256, and write them at their offsets.
///
/// @unchecked: `firstError`, `bytesFetched` and `bytesReused` are written only under `lock` and read
/// after the workers were joined (`pool.finish()`); the rest is immutable or Sendable.
final class FileRestorer: @unchecked Sendable {
    private let pool: WorkerPool<WriteJob>
    var queue: BlockingQueue<WriteJob> { pool.queue }
    private let repository: Repository
    private let progress: JobProgress?
    private let applyOwner: Bool
    private let cancellation: Cancellation
    let metadata: MetadataApplier
    private let lock = NSLock()
    private var firstError: Error?
    private(set) var bytesFetched: UInt64 = 0
    private(set) var bytesReused: UInt64 = 0

    init(
        repository: Repository, workers: Int, applyOwner: Bool, metadata: MetadataApplier, progress: JobProgress?,
        cancellation: Cancellation
    ) {
        self.repository = repository; self.applyOwner = applyOwner; self.metadata = metadata; self.progress = progress
        self.cancellation = cancellation
        pool = WorkerPool(capacity: workers * 4)
        pool.start(workers, name: "file-restorer") { [self] in work() }
    }

    var error: Error? { lock.withLock { firstError } }
    func fail(_ e: Error) { lock.withLock { if firstError == nil { firstError = e } } }

    private func work() {
        let codec = repository.makeCodec()
        var local: [UInt8] = []
        var plain: [[UInt8]] = []
        var fetched: [UInt8] = []
        while let job = queue.pop() {
            // Checked between fetched ranges: SIGTERM stops a large file's rebuild within one read.
            if error == nil, cancellation.isCancelled { fail(Self.interrupted()) }
            if error == nil {
                do {
                    var fetch: [Piece] = []
                    for piece in job.pieces {
                        if try reuse(piece, of: job.file, &local) { continue }
                        fetch.append(piece)
                    }
                    try fetchAndWrite(fetch, to: job.file, codec, &plain, &fetched)
                } catch {
                    fail(VaultError.wrap(error, .failure, "cannot restore \(job.file.path)"))
                }
            }
            if job.file.jobDone() {
                do { try job.file.finish(applyOwner: applyOwner, metadata: metadata) } catch { fail(error) }
                progress?.add(files: 1)
            }
        }
    }

    /// Delta: the live file's bytes at the same offset, if they hash to the chunk id. A chunk the
    /// in-place plan hashed in this run (the live file unchanged since) is not hashed again.
    private func reuse(_ piece: Piece, of file: RestoreFile, _ local: inout [UInt8]) throws -> Bool {
        guard file.previousFD >= 0, piece.live != .differs else { return false }
        let length = Int(piece.location.entry.rawLength)
        if local.count < length { local = [UInt8](repeating: 0, count: length) }
        let n = try local.withUnsafeMutableBytes {
            try Posix.pread(
                file.previousFD, UnsafeMutableRawBufferPointer(rebasing: $0[0..<length]), offset: piece.offset,
                path: file.path)
        }
        guard n == length else { return false }
        if piece.live == .unknown {
            // The chunk id is of the stored (de-obfuscated) bytes; the live file holds the disk's.
            file.node.transformChunk(&local, count: length, at: UInt64(piece.offset))
            let hash = local.withUnsafeBytes { SHA256.hash(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
            let same = hash == piece.id
            file.node.transformChunk(&local, count: length, at: UInt64(piece.offset))
            if !same { return false }
        }
        try local.withUnsafeBytes {
            try Posix.pwriteAll(
                file.fd, UnsafeRawBufferPointer(rebasing: $0[0..<length]), offset: piece.offset, path: file.path)
        }
        lock.withLock { bytesReused += UInt64(length) }
        progress?.add(bytes: UInt64(length))
        return true
    }

    /// One range read for the pieces (back to back in one pack), then each blob authenticated,
    /// decompressed and hash-checked before a byte of it is written. `plain` is the worker's own
    /// buffers, one per piece of a group, and `fetched` the one its ranges are read into, reused
    /// from job to job (no allocation, zero fill or fresh pages per blob or range).
    private func fetchAndWrite(
        _ pieces: [Piece], to file: RestoreFile, _ codec: BlobCodec, _ plain: inout [[UInt8]],
        _ fetched: inout [UInt8]
    ) throws {
        guard let first = pieces.first, let last = pieces.last else { return }
        RestoreFailpoint.stop("restore-fetch", until: cancellation)
        if cancellation.isCancelled { throw Self.interrupted() }
        let start = Int(first.location.entry.offset)
        let end = Int(last.location.entry.offset) + Int(last.location.entry.storedLength)
        while plain.count < pieces.count { plain.append([]) }
        // Every piece is opened before any is written, so a damaged read is fetched again whole.
        try repository.readPackRange(first.location.pack, start..<end, reusing: &fetched) { sealed in
            try sealed.withUnsafeBytes { all in
                for (i, piece) in pieces.enumerated() {
                    let from = Int(piece.location.entry.offset) - start
                    _ = try repository.openBlob(
                        UnsafeRawBufferPointer(rebasing: all[from..<from + Int(piece.location.entry.storedLength)]),
                        at: piece.location, codec: codec, into: &plain[i])
                }
            }
        }
        var written: UInt64 = 0
        for (i, piece) in pieces.enumerated() {
            let length = Int(piece.location.entry.rawLength)
            // Checked as stored; written as the source had it (a block file's key applied again).
            file.node.transformChunk(&plain[i], count: length, at: UInt64(piece.offset))
            try plain[i].withUnsafeBytes {
                try Posix.pwriteAll(
                    file.fd, UnsafeRawBufferPointer(rebasing: $0[0..<length]), offset: piece.offset, path: file.path)
            }
            written += UInt64(length)
        }
        lock.withLock { bytesFetched += written }
        progress?.add(bytes: written)
    }

    private static func interrupted() -> VaultError {
        VaultError(.interrupted, "interrupted", hint: "run the command again; nothing of it was swapped in")
    }

    func finish() throws {
        pool.finish()
        if let e = error { throw e }
    }
}
