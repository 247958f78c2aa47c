import Foundation
import Glibc
import VaultChain
import VaultCore
import VaultRepository

struct ReadJob {
    let fd: Int32
    let relativePath: String
    let before: stat
    let chunks: FileChunks
    let group: DispatchGroup
    /// A Bitcoin Core block file to store de-obfuscated (`BlockFileKeys`).
    var obfuscation: Obfuscation?
    /// The parent snapshot's chunks of this file, when its leading ones may be kept (`reusePrefix`).
    var previous: [BlobID] = []

    struct Obfuscation {
        let key: [UInt8]
        let kind: BlockFileObfuscation.Kind
    }
}

/// Threads that read and chunk files (FastCDC is sequential within a file, so files are the unit
/// of parallelism) and hand chunks to the `BlobSaver`. Each owns its read buffer. Takes
/// ownership of each job's descriptor.
///
/// @unchecked: `bytesRead`, `warnings` and `incomplete` are written by the workers only under `lock`
/// and read by the archiver after `pool.finish()` joined them; the rest is immutable or Sendable.
final class FileReader: @unchecked Sendable {
    private let pool: WorkerPool<ReadJob>
    var queue: BlockingQueue<ReadJob> { pool.queue }
    let saver: BlobSaver
    let index: MasterIndex
    private let chunker: FastCDC
    private let maxSize: Int
    let progress: JobProgress?
    let cancellation: Cancellation
    let lock = NSLock()
    private(set) var bytesRead: UInt64 = 0
    /// Bytes of changed files kept as the parent's chunks after a hash check (`reusePrefix`).
    var bytesReused: UInt64 = 0
    private(set) var warnings: [String] = []
    /// Files whose content could not be read whole (a read error, or fewer bytes than they had
    /// when opened): the snapshot is partial.
    private(set) var incomplete: [String] = []

    init(
        threads: Int, saver: BlobSaver, index: MasterIndex, parameters: ChunkerParameters, progress: JobProgress?,
        cancellation: Cancellation
    ) {
        self.saver = saver; self.index = index; self.progress = progress; self.cancellation = cancellation
        chunker = FastCDC(parameters)
        maxSize = parameters.maxSize
        pool = WorkerPool(capacity: threads * 2)
        pool.start(threads, name: "file-reader") { [self] in
            // The chunker needs a maximum chunk of lookahead; the bytes left after the cuts move to
            // the front before the next read. With only 256 KiB beyond that lookahead (up to
            // session 9) each ~1 MiB chunk moved ~3 MiB (perf: 6 % of a first backup's CPU in
            // memmove); with two maximum chunks beyond it, at most one is moved per two cut.
            // Allocated on the first file, so a reader that gets no work costs no memory.
            var buffer: [UInt8] = []
            while let job = queue.pop() {
                if buffer.isEmpty { buffer = [UInt8](repeating: 0, count: Self.bufferSize(maxSize: maxSize)) }
                read(job, &buffer)
            }
        }
    }

    /// The read buffer of a reader: a maximum chunk of lookahead and two more to cut from.
    static func bufferSize(maxSize: Int) -> Int { 3 * maxSize }

    private func warn(_ message: String) { lock.withLock { warnings.append(message) } }

    private func read(_ job: ReadJob, _ readBuffer: inout [UInt8]) {
        defer { Posix.close(job.fd); progress?.add(files: 1); job.group.leave() }
        if cancellation.isCancelled || saver.error != nil { return }
        let fd = job.fd
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        // Holes and preallocated space are recorded, never read; the data between them is chunked
        // range by range (a chunk never spans a hole).
        let map = SparseMap(
            fd: fd, size: UInt64(max(0, job.before.st_size)),
            allocatedBytes: UInt64(max(0, job.before.st_blocks)) * 512)
        let fileSize = UInt64(max(0, job.before.st_size))
        let transform = job.obfuscation.flatMap { BlockFileKeys.transform(fd: fd, size: fileSize, $0) }
        let segments = transform.map { BlockFileKeys.segments(map.segments, below: $0.length) } ?? map.segments
        var runs: [ZeroRun] = []
        var size: UInt64 = 0
        var fromDisk: UInt64 = 0
        // A changed file the parent held as plain data (no holes, zero runs or transform) and that
        // is still plain data: its leading chunks may still be the parent's.
        var resume: UInt64 = 0
        if !job.previous.isEmpty, transform == nil, segments.count == 1, case .data(0, let end) = segments[0] {
            resume = reusePrefix(job, end: end, &readBuffer)
            fromDisk = resume
        }
        segments: for segment in segments {
            switch segment {
            case .zeros(let run):
                appendZeroRun(run, to: &runs)
                size = run.end
                progress?.add(bytes: run.length)
            case .data(let start, let end):
                let from = max(start, resume)
                let (reached, complete) = readRange(job, from: from, to: end, &readBuffer, &runs, transform)
                fromDisk += reached - from
                size = reached
                if !complete {
                    // Cancelled or failed backups store no snapshot: only a cut-short file counts.
                    if !cancellation.isCancelled && saver.error == nil {
                        lock.withLock { incomplete.append(job.relativePath) }
                    }
                    break segments
                }
            }
        }
        lock.withLock { bytesRead += fromDisk }
        // A descriptor that cannot be stated any more tells nothing: say the file may have changed.
        let before = job.before
        guard let after = try? Posix.fstat(fd, path: job.relativePath) else {
            warn("\(job.relativePath): changed while being read; the snapshot holds the bytes as read")
            job.chunks.finish(size: size, zeroRuns: runs)
            return
        }
        if after.st_size != before.st_size || after.st_mtim.tv_sec != before.st_mtim.tv_sec
            || after.st_mtim.tv_nsec != before.st_mtim.tv_nsec
        {
            warn("\(job.relativePath): changed while being read; the snapshot holds the bytes as read")
        }
        // The node describes exactly what was stored, so a restore can check the size.
        // A file cut short keeps the transform of the bytes it has.
        let kept = transform.flatMap { ContentTransform(xor8: $0.key, length: min($0.length, size)) }
        job.chunks.finish(size: size, zeroRuns: runs, transform: kept)
    }

    /// Reads and chunks `start..<end`; an all-zero chunk becomes an allocated zero run instead of
    /// data (only past a transform's range: inside it, stored bytes are not the disk's).
    /// Returns the offset reached and whether the whole range was read (false on a read error,
    /// an early end of file, cancellation or a failed saver).
    private func readRange(
        _ job: ReadJob, from start: UInt64, to end: UInt64, _ readBuffer: inout [UInt8],
        _ runs: inout [ZeroRun], _ transform: ContentTransform?
    ) -> (UInt64, Bool) {
        var fill = 0
        var position = start  // file offset of readBuffer[0]
        var endOfRange = false
        var complete = true
        while !cancellation.isCancelled && saver.error == nil {
            while fill < readBuffer.count && !endOfRange {
                let want = min(readBuffer.count - fill, Int(end - position) - fill)
                if want == 0 { endOfRange = true; break }
                let n = readBuffer.withUnsafeMutableBytes {
                    Glibc.pread(job.fd, $0.baseAddress! + fill, want, off_t(position) + off_t(fill))
                }
                if n < 0 {
                    if errno == EINTR { continue }
                    let reason = String(cString: strerror(errno))
                    warn(
                        "\(job.relativePath): read error after \(position + UInt64(fill)) bytes (\(reason)), saved up to there"
                    )
                    endOfRange = true; complete = false
                    break
                }
                if n == 0 {
                    warn(
                        "\(job.relativePath): shrank while being read (ended at \(position + UInt64(fill)) of \(job.before.st_size) bytes), incomplete"
                    )
                    endOfRange = true; complete = false
                } else {
                    // De-obfuscated in place as read: the chunker and the hashes see the plain bytes.
                    if let transform {
                        let at = position + UInt64(fill), range = fill..<fill + n
                        readBuffer.withUnsafeMutableBytes {
                            transform.apply(UnsafeMutableRawBufferPointer(rebasing: $0[range]), at: at)
                        }
                    }
                    fill += n
                }
            }
            if fill == 0 { break }
            var cut = 0
            while fill - cut >= maxSize || (endOfRange && cut < fill) {
                let n = readBuffer.withUnsafeBytes { chunker.cut(UnsafeRawBufferPointer(rebasing: $0[cut..<fill])) }
                let offset = position + UInt64(cut)
                if offset >= transform?.length ?? 0,
                    readBuffer.withUnsafeBytes({ isAllZero(UnsafeRawBufferPointer(rebasing: $0[cut..<cut + n])) })
                {
                    appendZeroRun(ZeroRun(offset: offset, length: UInt64(n), allocated: true), to: &runs)
                } else {
                    saver.budget.acquire(n)
                    var buffer = saver.chunkBuffer(n)
                    readBuffer.withUnsafeBytes { src in
                        buffer.withUnsafeMutableBytes {
                            $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[cut..<cut + n]))
                        }
                    }
                    let (chunks, slot) = (job.chunks, job.chunks.reserve())
                    saver.submit(buffer, length: n, group: job.group) { chunks.set(slot, $0) }
                }
                cut += n
                progress?.add(bytes: UInt64(n))
            }
            if cut > 0 && cut < fill {
                readBuffer.withUnsafeMutableBytes { b in
                    b.baseAddress!.copyMemory(from: b.baseAddress! + cut, byteCount: fill - cut)
                }
            }
            fill -= cut
            position += UInt64(cut)
            if endOfRange && fill == 0 { break }
        }
        if cancellation.isCancelled || saver.error != nil { complete = false }
        return (position, complete)
    }

    /// No more files; waits until every queued file has been read and handed to the saver.
    func finish() {
        pool.finish()
    }
}
