import VaultCore
import VaultRepository

extension FileReader {
    /// A changed file's leading chunks that are still the parent snapshot's: each of the parent's
    /// chunks but its last is read at its offset and hashed, and while the bytes hash to the
    /// parent's id (and the index holds the blob) the id is kept without chunking, copying or
    /// queueing the bytes (issue 17: a day's appended block and freezer files re-chunked every
    /// unchanged byte). The first mismatch, a read problem or a blob the index lacks ends it; the
    /// rest, from the start of the chunk that ended it (the parent's last chunk may have been cut
    /// at the old end of the file), is chunked as usual. FastCDC starts afresh at every chunk, so
    /// when the parent was chunked by this chunker the cuts are those of a full chunking; whatever
    /// cut the parent, every kept chunk is the file's bytes at its offset, checked by SHA-256.
    /// Returns the offset where chunking goes on.
    func reusePrefix(_ job: ReadJob, end: UInt64, _ buffer: inout [UInt8]) -> UInt64 {
        var offset: UInt64 = 0
        for id in job.previous.dropLast() {
            if cancellation.isCancelled || saver.error != nil { break }
            guard let entry = index.lookup(id)?.entry, entry.type == .data else { break }
            let n = Int(entry.rawLength)
            guard n > 0, n <= buffer.count, offset + UInt64(n) <= end,
                readFully(job, at: offset, count: n, into: &buffer),
                buffer.withUnsafeBytes({ SHA256.hash(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) == id
            else { break }
            job.chunks.set(job.chunks.reserve(), id)
            offset += UInt64(n)
            progress?.add(bytes: UInt64(n))
        }
        if offset > 0 { lock.withLock { bytesReused += offset } }
        return offset
    }

    /// Reads exactly `count` bytes at `offset` into the front of `buffer`; false on an error or an
    /// early end (the chunking that follows reads them again and reports what went wrong).
    private func readFully(_ job: ReadJob, at offset: UInt64, count: Int, into buffer: inout [UInt8]) -> Bool {
        let n = try? buffer.withUnsafeMutableBytes {
            try Posix.pread(
                job.fd, UnsafeMutableRawBufferPointer(rebasing: $0[0..<count]), offset: Int(offset), path: "")
        }
        return n == count
    }
}
