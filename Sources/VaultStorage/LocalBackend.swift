import Glibc
import VaultCore

/// A repository in a local directory. Writes are temp file + fsync + rename (no replace) +
/// directory fsync; reads are pread on a fresh descriptor, so many threads read at once.
/// @unchecked: `appendOnly` is the only mutable field, set once before the backend is shared
/// (`openBackend`); everything else is immutable, and each call opens its own descriptors.
public final class LocalBackend: Backend, @unchecked Sendable {
    public let root: String
    /// Set once, before the backend is shared (openBackend): every delete is refused.
    public var appendOnly = false
    public var location: String { root }

    public init(path: String) { root = Path.absolute(path) }

    private func path(_ handle: ObjectHandle) -> String { root + "/" + handle.relativePath }

    public func create() throws {
        if try Posix.lstat(path(.config)) != nil {
            throw VaultError(
                .alreadyExists, "a repository already exists at \(root)",
                hint: "use it as it is, or choose another path for a new one")
        }
        try Posix.mkdirs(root, mode: 0o700)
        for kind in ObjectKind.allCases where kind != .config {
            try Posix.mkdir(root + "/" + kind.rawValue, mode: 0o700)
        }
        // All 256 fan-out directories up front, so a pack write never has to create one.
        for i in 0..<256 { try Posix.mkdir(root + "/data/" + Hex.encode([UInt8(i)]), mode: 0o700) }
        try Posix.fsyncDirectory(root + "/data")
        try Posix.fsyncDirectory(root)
    }

    public func list(_ kind: ObjectKind) throws -> [ObjectInfo] {
        switch kind {
        case .config:
            return try stat(.config).map { [ObjectInfo(name: "config", size: $0)] } ?? []
        case .pack:
            var all: [ObjectInfo] = []
            guard let data = try kindDirectory("data") else { return [] }
            for sub in try names(in: data) {
                guard let dir = try directory("data/" + sub) else { continue }  // removed meanwhile
                all += try files(in: dir)
            }
            return all
        default:
            return try kindDirectory(kind.rawValue).map { try files(in: $0) } ?? []
        }
    }

    /// A missing kind directory is empty (git, rsync and some restores drop empty directories);
    /// a missing root is not a repository.
    private func kindDirectory(_ relative: String) throws -> RepositoryDirectory? {
        if let dir = try directory(relative) { return dir }
        if try Posix.lstat(root) == nil { throw notARepository() }
        return nil
    }

    private func names(in dir: RepositoryDirectory) throws -> [String] {
        try DirectoryListing.entries(of: dir.fd, path: dir.path).map { String(decoding: $0, as: UTF8.self) }
            .filter { !$0.hasPrefix(".") }
    }

    /// Regular files only: a link or directory planted among the objects is no object.
    private func files(in dir: RepositoryDirectory) throws -> [ObjectInfo] {
        try names(in: dir).compactMap { name in
            guard let st = Posix.lstatAt(dir.fd, Array(name.utf8)), (st.st_mode & S_IFMT) == S_IFREG else { return nil }
            return ObjectInfo(name: name, size: Int(st.st_size), modified: Self.modified(st))
        }
    }

    private func notARepository() -> VaultError {
        VaultError(
            .notARepository, "\(root) is not a chainvault repository (its layout is incomplete)",
            hint: "check the --repo path, or create one with 'chainvault init'")
    }

    public func read(_ handle: ObjectHandle, range: Range<Int>?) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try read(handle, range: range, reusing: &bytes)
        return bytes
    }

    /// Sizes `buffer` to the range (keeping its storage: only a growth beyond its count is
    /// zero-filled) once the size is checked, and fills it with one pread.
    public func read(_ handle: ObjectHandle, range: Range<Int>?, reusing buffer: inout [UInt8]) throws {
        let p = path(handle)
        guard let dir = try parentDirectory(handle) else { throw missing(handle) }
        let opened = try openObject(handle, in: dir, O_RDONLY)
        if opened < 0 { throw missing(handle) }
        let fd = FileDescriptor(adopting: opened)
        let st = try fd.status(path: p)
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw refusedEntry(handle.relativePath) }
        let size = Int(st.st_size)
        let wanted = range ?? 0..<size
        guard wanted.lowerBound >= 0, wanted.upperBound <= size else {
            throw VaultError(
                .corrupt, "\(handle) is \(size) bytes, shorter than the range \(wanted) the index names",
                hint: "the object was truncated; run 'chainvault verify --read-data'")
        }
        try ObjectLimits.check(handle, size: range == nil ? size : wanted.count, location: location)
        if buffer.count > wanted.count {
            buffer.removeLast(buffer.count - wanted.count)
        } else if buffer.count < wanted.count {
            buffer.append(contentsOf: repeatElement(0, count: wanted.count - buffer.count))
        }
        let n = try buffer.withUnsafeMutableBytes {
            try Posix.pread(fd.rawValue, $0, offset: wanted.lowerBound, path: p)
        }
        guard n == wanted.count else {
            throw VaultError(.corrupt, "\(handle) ended after \(n) of \(wanted.count) bytes while reading")
        }
    }

    /// Temp file in the object's own directory (opened without links), fsync, no-replace rename,
    /// directory fsync.
    public func write(_ handle: ObjectHandle, _ bytes: [UInt8]) throws {
        let dir = try writableDirectory(handle)
        let temp = ".tmp-" + handle.name + "-" + Hex.encode(SecureRandom.bytes(6))
        let display = dir.path + "/" + temp
        let fd = try Posix.openAt(
            dir.fd, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600,
            displayPath: display)
        do {
            defer { Posix.close(fd) }  // exactly once: a second close could close another thread's file
            try bytes.withUnsafeBytes { try Posix.writeAll(fd, $0, path: display) }
            try Posix.fsync(fd, path: display)
            try Posix.renameAtNoReplace(dir.fd, temp, dir.fd, handle.name, display: path(handle))
        } catch {
            _ = try? Posix.unlinkAt(dir.fd, Array(temp.utf8), directory: false, display: display)
            throw error
        }
        try Posix.fsync(dir.fd, path: dir.path)
    }

    /// The object's directory; a kind added after this repository was created (audit/) has none yet.
    func writableDirectory(_ handle: ObjectHandle) throws -> RepositoryDirectory {
        if let dir = try parentDirectory(handle) { return dir }
        guard handle.kind != .config, handle.kind != .pack, let rootDir = try directory("") else {
            throw notARepository()
        }
        _ = try? Posix.mkdirAt(
            rootDir.fd, Array(handle.kind.rawValue.utf8), mode: 0o700,
            display: root + "/" + handle.kind.rawValue)
        try Posix.fsync(rootDir.fd, path: root)
        guard let dir = try parentDirectory(handle) else { throw notARepository() }
        return dir
    }

    /// Packs are spooled in `data/` itself (as `.tmp-*`, never listed), so handing one over is a
    /// rename within one file system.
    public var stagingDirectory: String { root + "/data" }
    public var readsSpooledFiles: Bool { false }

    public func writeFile(_ handle: ObjectHandle, path source: String) throws {
        guard try directory("data") != nil, let dir = try parentDirectory(handle) else { throw notARepository() }
        try Posix.renameAtNoReplace(AT_FDCWD, source, dir.fd, handle.name, display: path(handle))
        try Posix.fsync(dir.fd, path: dir.path)
    }

    /// Unlinks relative to the directory opened without links: never a file outside the repository.
    public func delete(_ handle: ObjectHandle) throws {
        if appendOnly { throw AppendOnly.refusal(handle, location: location) }
        guard let dir = try parentDirectory(handle) else { return }
        if try Posix.unlinkAt(dir.fd, Array(handle.name.utf8), directory: false, display: path(handle)) {
            try Posix.fsync(dir.fd, path: dir.path)
        }
    }

    public func stat(_ handle: ObjectHandle) throws -> Int? {
        guard let dir = try parentDirectory(handle) else { return nil }
        guard let st = Posix.lstatAt(dir.fd, Array(handle.name.utf8)) else {
            if errno == ENOENT { return nil }
            throw Posix.error("stat", path(handle))
        }
        if (st.st_mode & S_IFMT) == S_IFLNK { throw refusedEntry(handle.relativePath) }
        return Int(st.st_size)
    }

    /// Removes temp files left by writes that a crash interrupted (they are never referenced).
    /// Only those older than `age`: another process may be writing into this repository right now
    /// (a concurrent backup's lock or pack), and its temp files are seconds or minutes old. The
    /// absence of locks is no proof, since a writer creates its lock file as a temp file first.
    public func removeStaleTemporaries(olderThan age: Double = 86_400) {
        if appendOnly { return }
        var dirs = ObjectKind.allCases.filter { $0 != .config && $0 != .pack }.map(\.rawValue)
        dirs.append("")
        dirs.append("data")  // pack spool files
        for i in 0..<256 { dirs.append("data/" + Hex.encode([UInt8(i)])) }
        VaultStorage.removeStaleTemporaries(in: dirs.compactMap { try? directory($0) }, olderThan: age)
    }
}
