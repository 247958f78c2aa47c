import Glibc

/// Builds and reads source trees by bytes and directory descriptors, for tests of names that are
/// not UTF-8 and of trees deeper than PATH_MAX (FileManager takes Strings and full paths).
/// Only Glibc: these tests must also compile against code that predates byte names.
enum ByteTree {
    static func cString<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
        var terminated = bytes
        terminated.append(0)
        return terminated.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) } }
    }

    static func open(_ path: String) -> Int32 { Glibc.open(path, O_RDONLY | O_DIRECTORY) }

    /// Creates (or opens) `names` one below the other under `dirfd`; returns the deepest, open.
    /// Closes each intermediate directory, so any depth costs two descriptors.
    static func mkdirs(_ dirfd: Int32, _ names: [[UInt8]]) -> Int32 {
        var fd = dup(dirfd)
        for name in names {
            _ = cString(name) { mkdirat(fd, $0, 0o755) }
            let next = cString(name) { openat(fd, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) }
            close(fd)
            precondition(next >= 0, "cannot create a test directory: errno \(errno)")
            fd = next
        }
        return fd
    }

    /// Opens `names` below `dirfd`, or nil.
    static func openChain(_ dirfd: Int32, _ names: [[UInt8]]) -> Int32? {
        var fd = dup(dirfd)
        for name in names {
            let next = cString(name) { openat(fd, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) }
            close(fd)
            if next < 0 { return nil }
            fd = next
        }
        return fd
    }

    static func write(_ dirfd: Int32, _ name: [UInt8], _ content: [UInt8]) {
        let fd = cString(name) { openat(dirfd, $0, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
        precondition(fd >= 0, "cannot create a test file: errno \(errno)")
        content.withUnsafeBytes { _ = Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    static func read(_ dirfd: Int32, _ name: [UInt8]) -> [UInt8]? {
        let fd = cString(name) { openat(dirfd, $0, O_RDONLY | O_NOFOLLOW) }
        if fd < 0 { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return out
    }

    static func symlink(_ target: [UInt8], _ dirfd: Int32, _ name: [UInt8]) {
        _ = cString(target) { t in cString(name) { symlinkat(t, dirfd, $0) } }
    }

    static func readlink(_ dirfd: Int32, _ name: [UInt8]) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 4097)
        let n = cString(name) { n in
            buffer.withUnsafeMutableBytes {
                readlinkat(dirfd, n, $0.baseAddress!.assumingMemoryBound(to: CChar.self), 4096)
            }
        }
        return n < 0 ? nil : Array(buffer[0..<n])
    }

    static func lstat(_ dirfd: Int32, _ name: [UInt8]) -> stat? {
        var st = stat()
        return cString(name) { fstatat(dirfd, $0, &st, AT_SYMLINK_NOFOLLOW) } == 0 ? st : nil
    }

    /// The names in a directory, as the kernel's bytes, sorted.
    static func names(_ dirfd: Int32) -> [[UInt8]] {
        guard let dir = fdopendir(dup(dirfd)) else { return [] }
        defer { closedir(dir) }
        rewinddir(dir)
        var out: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name: [UInt8] = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) {
                    Array(UnsafeRawBufferPointer(start: $0, count: strlen($0)))
                }
            }
            if name != [46] && name != [46, 46] { out.append(name) }
        }
        return out.sorted { $0.lexicographicallyPrecedes($1) }
    }
}
