import Glibc
import VaultCore

/// A repository in a local directory. Writes are temp file + fsync + rename (no replace) +
/// directory fsync; reads are pread on a fresh descriptor, so many threads read at once.
public final class LocalBackend: Backend, @unchecked Sendable {
    public let root: String
    public var location: String { root }

    public init(path: String) { root = Path.absolute(path) }

    private func path(_ handle: ObjectHandle) -> String { root + "/" + handle.relativePath }

    public func create() throws {
        if try Posix.lstat(path(.config)) != nil {
            throw VaultError(.alreadyExists, "a repository already exists at \(root)",
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
            for sub in try listDirectory(root + "/data") {
                all += try listFiles(root + "/data/" + sub)
            }
            return all
        default:
            return try listFiles(root + "/" + kind.rawValue)
        }
    }

    /// A missing kind directory is empty (git, rsync and some restores drop empty directories);
    /// a missing root is not a repository.
    private func listDirectory(_ dir: String) throws -> [String] {
        guard try Posix.lstat(dir) != nil else {
            if try Posix.lstat(root) == nil { throw notARepository() }
            return []
        }
        return try DirectoryListing.names(dir).filter { !$0.hasPrefix(".") }
    }

    private func listFiles(_ dir: String) throws -> [ObjectInfo] {
        try listDirectory(dir).compactMap { name in
            guard let st = try Posix.lstat(dir + "/" + name), (st.st_mode & S_IFMT) == S_IFREG else { return nil }
            return ObjectInfo(name: name, size: Int(st.st_size), modified: Self.modified(st))
        }
    }

    private func notARepository() -> VaultError {
        VaultError(.notARepository, "\(root) is not a chainvault repository (its layout is incomplete)",
                   hint: "check the --repo path, or create one with 'chainvault init'")
    }

    public func read(_ handle: ObjectHandle, range: Range<Int>?) throws -> [UInt8] {
        let p = path(handle)
        let fd = Glibc.open(p, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { throw missing(handle) }
            throw Posix.error("open", p)
        }
        defer { Posix.close(fd) }
        let size = try Posix.fileSize(fd, path: p)
        let wanted = range ?? 0..<size
        guard wanted.lowerBound >= 0, wanted.upperBound <= size else {
            throw VaultError(.corrupt, "\(handle) is \(size) bytes, shorter than the range \(wanted) the index names",
                             hint: "the object was truncated; run 'chainvault verify --read-data'")
        }
        var bytes = [UInt8](repeating: 0, count: wanted.count)
        let n = try bytes.withUnsafeMutableBytes { try Posix.pread(fd, $0, offset: wanted.lowerBound, path: p) }
        guard n == wanted.count else {
            throw VaultError(.corrupt, "\(handle) ended after \(n) of \(wanted.count) bytes while reading")
        }
        return bytes
    }

    public func write(_ handle: ObjectHandle, _ bytes: [UInt8]) throws {
        let target = path(handle)
        // A kind added after this repository was created (audit/) has no directory yet.
        if handle.kind != .config && handle.kind != .pack { try Posix.mkdirs(Path.parent(target), mode: 0o700) }
        try bytes.withUnsafeBytes { try Posix.writeFileAtomically(target, $0, mode: 0o600, replace: false) }
    }

    /// Packs are spooled in `data/` itself (as `.tmp-*`, never listed), so handing one over is a
    /// rename within one file system.
    public var stagingDirectory: String { root + "/data" }

    public func writeFile(_ handle: ObjectHandle, path source: String) throws {
        let target = path(handle)
        try Posix.renameNoReplace(source, target)
        try Posix.fsyncDirectory(Path.parent(target))
    }

    public func delete(_ handle: ObjectHandle) throws {
        let p = path(handle)
        if try Posix.unlink(p) { try Posix.fsyncDirectory(Path.parent(p)) }
    }

    public func stat(_ handle: ObjectHandle) throws -> Int? {
        try Posix.lstat(path(handle)).map { Int($0.st_size) }
    }

    /// Removes temp files left by writes that a crash interrupted (they are never referenced).
    /// Only those older than `age`: another process may be writing into this repository right now
    /// (a concurrent backup's lock or pack), and its temp files are seconds or minutes old. The
    /// absence of locks is no proof, since a writer creates its lock file as a temp file first.
    public func removeStaleTemporaries(olderThan age: Double = 86_400) {
        var dirs = ObjectKind.allCases.filter { $0 != .config && $0 != .pack }.map { root + "/" + $0.rawValue }
        dirs.append(root)
        dirs.append(root + "/data") // pack spool files
        for i in 0..<256 { dirs.append(root + "/data/" + Hex.encode([UInt8(i)])) }
        VaultStorage.removeStaleTemporaries(in: dirs, olderThan: age)
    }
}
