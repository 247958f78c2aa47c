import Glibc
import VaultCore
import VaultRepository

/// A file in the live target that a restore reads (to compare it with the snapshot or reuse its
/// bytes). Only regular files are read: the open is non-blocking (a fifo or a device put there
/// after the `lstat` cannot hang the restore), and `fstat` of the opened descriptor decides.
enum LiveFile {
    /// The descriptor of `name` in `dirFD` if it is a regular file; -1 when it is anything else or
    /// is gone (also when a directory on its path is not one). A file that exists but cannot be opened (permissions, I/O error) throws: a restore
    /// that cannot read the target must not change it.
    static func openRegular(_ dirFD: Int32, _ name: [UInt8], display: @autoclosure () -> String) throws -> Int32 {
        let fd = Posix.tryOpenAt(dirFD, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY)
        if fd < 0 {
            // ENOTDIR: a directory on the path is now a file, so nothing is there to read.
            if errno == ENOENT || errno == ELOOP || errno == ENXIO || errno == ENOTDIR { return -1 }
            throw VaultError(
                .storageFailure, "cannot read \(display()) in the restore target",
                cause: Errno.current,
                hint: "make it readable to this user (or move it away) and run the restore again; nothing was changed")
        }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            Posix.close(fd)
            return -1
        }
        return fd
    }

    /// Compares the live file with the node's content, every chunk: whether each chunk's bytes at
    /// its offset hash to its id, and whether each zero run reads as zeros. A file that differs is
    /// rebuilt from this answer (the chunks that matched are copied, not hashed again), so the
    /// comparison does not stop at the first difference. nil when the size differs. `offsets` come
    /// from the index (`Node.chunkOffsets`).
    static func compare(
        _ fd: Int32, _ node: Node, offsets: [UInt64], lengths: [UInt64], path: String,
        buffer: inout [UInt8]
    ) throws -> LiveComparison? {
        var st = stat()
        guard fstat(fd, &st) == 0, UInt64(st.st_size) == node.size else { return nil }
        var matches = [Bool](repeating: false, count: node.chunks.count)
        for (i, id) in node.chunks.enumerated() {
            let length = Int(lengths[i])
            guard try read(fd, offset: Int(offsets[i]), length: length, path: path, &buffer) else { return nil }
            node.transformChunk(&buffer, count: length, at: offsets[i])  // ids are of the stored bytes
            matches[i] = buffer.withUnsafeBytes({ SHA256.hash(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }) == id
        }
        var zeros = true
        runs: for run in node.zeroRuns {
            var at = run.offset
            while at < run.end {
                let length = Int(min(run.end - at, 1 << 20))
                guard try read(fd, offset: Int(at), length: length, path: path, &buffer),
                    !buffer.withUnsafeBytes({ b in b[0..<length].contains { $0 != 0 } })
                else {
                    zeros = false
                    break runs
                }
                at += UInt64(length)
            }
        }
        return LiveComparison(matches: matches, zerosMatch: zeros, identity: LiveIdentity(st))
    }

    private static func read(_ fd: Int32, offset: Int, length: Int, path: String, _ buffer: inout [UInt8]) throws
        -> Bool
    {
        if buffer.count < length { buffer = [UInt8](repeating: 0, count: length) }
        var done = 0
        while done < length {
            let n = try buffer.withUnsafeMutableBytes {
                try Posix.pread(
                    fd, UnsafeMutableRawBufferPointer(rebasing: $0[done..<length]), offset: offset + done, path: path)
            }
            if n == 0 { return false }
            done += n
        }
        return true
    }

    /// At most `limit` bytes of a small live file (a protected file for the chooser); nil when it
    /// is larger or not a regular file.
    static func readSmall(_ fd: Int32, limit: Int, path: String) throws -> [UInt8]? {
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size <= limit else { return nil }
        var buffer = [UInt8]()
        guard try read(fd, offset: 0, length: Int(st.st_size), path: path, &buffer) else { return nil }
        return Array(buffer[0..<Int(st.st_size)])
    }
}

/// What changes when a file's content is written: if a live file still has the identity it had
/// when it was compared, the comparison still holds (ctime cannot be set back by anyone).
struct LiveIdentity: Equatable {
    let device: UInt64, inode: UInt64, size: Int64, mtime: Int64, ctime: Int64

    init(_ st: stat) {
        device = UInt64(st.st_dev); inode = UInt64(st.st_ino); size = Int64(st.st_size)
        mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        ctime = Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
    }
}

/// A live file compared with the snapshot, chunk by chunk.
struct LiveComparison {
    let matches: [Bool]
    let zerosMatch: Bool
    let identity: LiveIdentity

    var same: Bool { zerosMatch && !matches.contains(false) }
}
