import Foundation
import Glibc
import VaultCore
import VaultRepository

struct ReadJob {
    let fd: Int32
    let relativePath: String
    let before: stat
    let chunks: FileChunks
    let group: DispatchGroup
}

/// Threads that read and chunk files (FastCDC is sequential within a file, so files are the unit
/// of parallelism) and hand chunks to the `ChunkSaver`. Each owns its read buffer. Takes
/// ownership of each job's descriptor.
final class FileReader: @unchecked Sendable {
    private let pool: WorkerPool<ReadJob>
    var queue: BlockingQueue<ReadJob> { pool.queue }
    private let saver: ChunkSaver
    private let chunker: FastCDC
    private let maxSize: Int
    private let progress: JobProgress?
    private let cancellation: Cancellation
    private let lock = NSLock()
    private(set) var bytesRead: UInt64 = 0
    private(set) var warnings: [String] = []
    /// Files whose content could not be read whole (a read error, or fewer bytes than they had
    /// when opened): the snapshot is partial.
    private(set) var incomplete: [String] = []

    init(threads: Int, saver: ChunkSaver, parameters: ChunkerParameters, progress: JobProgress?, cancellation: Cancellation) {
        self.saver = saver; self.progress = progress; self.cancellation = cancellation
        chunker = FastCDC(parameters)
        maxSize = parameters.maxSize
        pool = WorkerPool(capacity: threads * 2)
        pool.start(threads, name: "file-reader") { [self] in
            // The chunker needs a maximum chunk of lookahead; 256 KiB more keeps reads large.
            // Allocated on the first file, so a reader that gets no work costs no memory.
            var buffer: [UInt8] = []
            while let job = queue.pop() {
                if buffer.isEmpty { buffer = [UInt8](repeating: 0, count: maxSize + (256 << 10)) }
                read(job, &buffer)
            }
        }
    }

    private func warn(_ message: String) { lock.withLock { warnings.append(message) } }

    private func read(_ job: ReadJob, _ readBuffer: inout [UInt8]) {
        defer { Posix.close(job.fd); progress?.add(files: 1); job.group.leave() }
        if cancellation.isCancelled || saver.error != nil { return }
        let fd = job.fd
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        progress?.setCurrent(job.relativePath)
        var fill = 0
        var total: UInt64 = 0
        var endOfFile = false
        var readFailed = false
        while !cancellation.isCancelled && saver.error == nil {
            while fill < readBuffer.count && !endOfFile {
                let n = readBuffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + fill, $0.count - fill) }
                if n < 0 {
                    if errno == EINTR { continue }
                    warn("\(job.relativePath): read error after \(total + UInt64(fill)) bytes (\(String(cString: strerror(errno)))), saved up to there")
                    endOfFile = true
                    readFailed = true
                    break
                }
                if n == 0 { endOfFile = true } else { fill += n }
            }
            if fill == 0 { break }
            var start = 0
            while fill - start >= maxSize || (endOfFile && start < fill) {
                let n = readBuffer.withUnsafeBytes { chunker.cut(UnsafeRawBufferPointer(rebasing: $0[start..<fill])) }
                saver.budget.acquire(n)
                let buffer = readBuffer.withUnsafeBytes { src in
                    [UInt8](unsafeUninitializedCapacity: n) { dst, count in
                        UnsafeMutableRawBufferPointer(dst).copyMemory(from: UnsafeRawBufferPointer(rebasing: src[start..<start + n]))
                        count = n
                    }
                }
                job.group.enter()
                saver.queue.push(ChunkJob(buffer: buffer, length: n, destination: (job.chunks, job.chunks.reserve()), group: job.group))
                start += n
                total += UInt64(n)
                progress?.add(bytes: UInt64(n))
            }
            if start > 0 && start < fill {
                readBuffer.withUnsafeMutableBytes { b in b.baseAddress!.copyMemory(from: b.baseAddress! + start, byteCount: fill - start) }
            }
            fill -= start
            if endOfFile && fill == 0 { break }
        }
        lock.withLock { bytesRead += total }
        var after = stat()
        fstat(fd, &after)
        let before = job.before
        if after.st_size != before.st_size || after.st_mtim.tv_sec != before.st_mtim.tv_sec || after.st_mtim.tv_nsec != before.st_mtim.tv_nsec {
            warn("\(job.relativePath): changed while being read; the snapshot holds the bytes as read")
        }
        if readFailed || total < UInt64(max(before.st_size, 0)) {
            if !readFailed { warn("\(job.relativePath): shrank while being read (\(total) of \(before.st_size) bytes), incomplete") }
            lock.withLock { incomplete.append(job.relativePath) }
        }
        // The node describes exactly what was stored, so a restore can check the size.
        job.chunks.size = total
    }

    /// No more files; waits until every queued file has been read and handed to the saver.
    func finish() {
        pool.finish()
    }
}
