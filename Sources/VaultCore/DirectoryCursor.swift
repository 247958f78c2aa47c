import Glibc

/// Where an iterative walk stands: a root directory and the chain of directories below it, with
/// at most `limit` descriptors open whatever the depth. Levels whose descriptor was closed are
/// re-opened when the walk climbs back to them: through `..` of the level being left, or else by
/// `openat` per component from the nearest ancestor still open. Either way the re-opened
/// directory must be the one entered (same device and inode), so a directory moved during the
/// walk is an error, never a silent walk of some other tree. No path string is ever built.
public final class DirectoryCursor {
    private struct Level {
        let name: [UInt8]
        var fd: Int32
        let device: UInt64
        let inode: UInt64
    }

    /// 64 keeps a 10,000-deep walk well inside a 1,024-descriptor limit next to the file reader
    /// and restorer threads' own descriptors, while a climb re-opens a level only every 64 levels.
    public static let defaultLimit = 64

    private var levels: [Level] = []
    private var openCount = 0
    /// No level in 1..<firstOpen holds a descriptor (the root, level 0, always does).
    private var firstOpen = 1
    public let limit: Int
    private let rootDisplay: String

    /// Takes ownership of `rootFD`, a directory.
    public init(rootFD: Int32, display: String, limit: Int = DirectoryCursor.defaultLimit) throws {
        precondition(limit >= 2, "a cursor needs the root and the current directory open")
        self.limit = limit
        rootDisplay = display
        var st = stat()
        if fstat(rootFD, &st) != 0 {
            let e = Posix.error("stat", display)
            Posix.close(rootFD)
            throw e
        }
        levels.append(Level(name: [], fd: rootFD, device: UInt64(st.st_dev), inode: UInt64(st.st_ino)))
        openCount = 1
    }

    deinit { for level in levels where level.fd >= 0 { Posix.close(level.fd) } }

    /// 0 at the root.
    public var depth: Int { levels.count - 1 }

    /// The current directory's own name (empty at the root).
    public var currentName: [UInt8] { levels[levels.count - 1].name }

    /// The root's descriptor, open for the cursor's lifetime.
    public var rootFD: Int32 { levels[0].fd }

    /// The current directory's path relative to the root, `name` appended, printable.
    public func display(_ name: [UInt8]? = nil) -> String {
        let bytes = relativeBytes(name)
        return bytes.isEmpty ? "." : FileName.display(bytes)
    }

    /// The current directory's path relative to the root as bytes, `name` appended ("" at the root).
    public func relativeBytes(_ name: [UInt8]? = nil) -> [UInt8] {
        var bytes: [UInt8] = []
        for level in levels.dropFirst() {
            if !bytes.isEmpty { bytes.append(47) }
            bytes += level.name
        }
        if let name {
            if !bytes.isEmpty { bytes.append(47) }
            bytes += name
        }
        return bytes
    }

    /// The descriptor of the current directory, re-opened if it had been closed. Valid until the
    /// next `enter`, `leave` or `current` call.
    public func current() throws -> Int32 {
        let last = levels.count - 1
        if levels[last].fd >= 0 { return levels[last].fd }
        var start = last - 1
        while levels[start].fd < 0 { start -= 1 }
        for i in (start + 1)...last {
            levels[i].fd = try reopen(i, from: levels[i - 1].fd, name: levels[i].name)
            openCount += 1
            firstOpen = min(firstOpen, i)
            trim()
        }
        return levels[last].fd
    }

    /// Opens the subdirectory `name` of the current directory (never following a symlink) and
    /// makes it current; returns its descriptor. On failure nothing changes.
    @discardableResult
    public func enter(_ name: [UInt8]) throws -> Int32 {
        let parent = try current()
        let fd = try Posix.openAt(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, display: display(name))
        var st = stat()
        fstat(fd, &st)
        levels.append(Level(name: name, fd: fd, device: UInt64(st.st_dev), inode: UInt64(st.st_ino)))
        openCount += 1
        trim()
        return fd
    }

    /// Leaves the current directory for its parent. The parent's descriptor, if it had been
    /// closed, comes back cheaply through `..` while the child is still open.
    public func leave() {
        precondition(levels.count > 1, "cannot leave the root of a walk")
        let child = levels.removeLast()
        let parentIndex = levels.count - 1
        if child.fd >= 0 {
            if levels[parentIndex].fd < 0, parentIndex > 0,
                let fd = try? reopen(parentIndex, from: child.fd, name: [46, 46])
            {
                levels[parentIndex].fd = fd
                openCount += 1
                firstOpen = min(firstOpen, parentIndex)
            }
            Posix.close(child.fd)
            openCount -= 1
        }
        if firstOpen > levels.count { firstOpen = levels.count }
    }

    private func reopen(_ index: Int, from dirfd: Int32, name: [UInt8]) throws -> Int32 {
        let fd = try Posix.openAt(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, display: display())
        var st = stat()
        let same =
            fstat(fd, &st) == 0 && UInt64(st.st_dev) == levels[index].device
            && UInt64(st.st_ino) == levels[index].inode
        if !same {
            Posix.close(fd)
            throw VaultError(
                .sourceUnreadable,
                "directory \(rootDisplay)/\(display(nil)) was moved or replaced during the walk",
                hint: "run the command again when nothing renames directories under \(rootDisplay)")
        }
        return fd
    }

    /// Closes the shallowest descriptors (never the root's or the current one) beyond `limit`.
    private func trim() {
        while openCount > limit {
            while firstOpen < levels.count - 1 && levels[firstOpen].fd < 0 { firstOpen += 1 }
            guard firstOpen < levels.count - 1 else { return }
            Posix.close(levels[firstOpen].fd)
            levels[firstOpen].fd = -1
            openCount -= 1
            firstOpen += 1
        }
    }
}
