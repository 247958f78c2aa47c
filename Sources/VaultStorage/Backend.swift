import Foundation
import VaultCore

// VaultStorage: where repository objects live. A backend stores opaque, named objects of a few
// kinds; it knows nothing of encryption or the format. Every object is written whole and at
// once (never appended), which is what both a POSIX file system (temp + rename) and an object
// store (PUT) can do atomically.

public enum ObjectKind: String, CaseIterable, Sendable {
    case config = "config"
    case key = "keys"
    case pack = "data"
    case index = "index"
    case snapshot = "snapshots"
    case lock = "locks"
    case audit = "audit"
}

public struct ObjectHandle: Hashable, Sendable, CustomStringConvertible {
    public let kind: ObjectKind
    public let name: String

    /// Naming a stored object is VaultRepository's business alone (issue 16): the layers above
    /// never construct a handle; backends and their tests opt in with `@_spi(Repository) import`.
    @_spi(Repository) public init(_ kind: ObjectKind, _ name: String) { self.kind = kind; self.name = name }

    public static let config = ObjectHandle(.config, "config")

    /// The path inside the repository, e.g. `data/3f/3f9a…`; packs fan out by the first two hex
    /// digits so that no directory holds more than ~1/256 of them.
    public var relativePath: String {
        switch kind {
        case .config: return "config"
        case .pack: return "data/\(name.prefix(2))/\(name)"
        default: return "\(kind.rawValue)/\(name)"
        }
    }

    public var description: String { relativePath }
}

public struct ObjectInfo: Hashable, Sendable {
    public let name: String
    public let size: Int
    /// When the store says the object was written, by the store's own clock (a local file's mtime,
    /// S3's `LastModified`); nil when the store does not say. Compare it only with `StoreClock.storeNow`.
    public let modified: Date?
    public init(name: String, size: Int, modified: Date? = nil) {
        self.name = name; self.size = size; self.modified = modified
    }

    // An object is its name and size; the time is metadata each store reports at its own precision.
    public static func == (a: ObjectInfo, b: ObjectInfo) -> Bool { a.name == b.name && a.size == b.size }
    public func hash(into hasher: inout Hasher) { hasher.combine(name); hasher.combine(size) }
}

/// Object storage for one repository. Implementations must be safe to call from many threads.
public protocol Backend: AnyObject, Sendable {
    /// Human-readable location (a path or URL), for messages.
    var location: String { get }

    /// Creates an empty repository layout. Throws `.alreadyExists` if a config object is present.
    func create() throws

    /// Names and sizes of the objects of `kind`. Temp files of unfinished writes are never listed.
    /// Safe to retry.
    func list(_ kind: ObjectKind) throws -> [ObjectInfo]

    /// The object's bytes, or the bytes in `range` of it. Throws `.missing` if it does not exist and
    /// `.corrupt` if the range lies outside it. Safe to retry.
    func read(_ handle: ObjectHandle, range: Range<Int>?) throws -> [UInt8]

    /// Reads again, after the bytes of an earlier `read` failed their check: like `read`, but
    /// sharing nothing with that read that could hand back the same bad bytes. For S3 a new
    /// connection, never a pooled keep-alive one (a damaging connection, proxy or middlebox state
    /// would repeat the damage); a local file is opened again, as every `read` does.
    func reread(_ handle: ObjectHandle, range: Range<Int>?) throws -> [UInt8]

    /// `read`, into `buffer`, which the caller keeps from read to read: afterwards `buffer` holds
    /// exactly the object's (or the range's) bytes, and a backend that can read in place keeps the
    /// buffer's storage when it is large enough (verify reads thousands of packs per worker, restore
    /// thousands of ranges; a fresh buffer each time costs a zero fill and page faults). The size
    /// the store reports is checked against `ObjectLimits` before the buffer grows.
    func read(_ handle: ObjectHandle, range: Range<Int>?, reusing buffer: inout [UInt8]) throws

    /// Creates the object durably and atomically: when this returns, the whole object survives a
    /// crash or power loss; if it throws, the object is absent or whole (never partial). Throws
    /// `.alreadyExists` if it exists: objects are never overwritten. Retrying after a failure is
    /// safe because names are content hashes or random.
    func write(_ handle: ObjectHandle, _ bytes: [UInt8]) throws

    /// Removes the object durably. Deleting an absent object is not an error (idempotent).
    func delete(_ handle: ObjectHandle) throws

    /// The object's size, or nil if it does not exist. Safe to retry.
    func stat(_ handle: ObjectHandle) throws -> Int?

    /// A local directory where large objects (packs) are spooled before `writeFile`, chosen so that
    /// handing them over is cheap (for a local repository: the same file system, so a rename).
    var stagingDirectory: String { get }

    /// Creates the object from a complete, fsynced local file, consuming the file (it is moved or
    /// deleted). Same guarantees as `write`.
    func writeFile(_ handle: ObjectHandle, path: String) throws

    /// True when `writeFile` reads the spooled file (an upload), false when it only moves it (a
    /// rename): then the file's pages need not stay in memory once it is durable.
    var readsSpooledFiles: Bool { get }

    /// How many transfers to keep in flight: 1 for a local disk (a pack's fsync and rename, on the
    /// uploader's one thread), more for a network store where each request waits on round trips.
    var preferredConcurrency: Int { get }
}

extension Backend {
    public var stagingDirectory: String { NSTemporaryDirectory() }
    public var preferredConcurrency: Int { 1 }
    public var readsSpooledFiles: Bool { true }

    public func writeFile(_ handle: ObjectHandle, path: String) throws {
        defer { _ = try? Posix.unlink(path) }
        try write(handle, try Posix.readFile(path))
    }

    public func read(_ handle: ObjectHandle) throws -> [UInt8] { try read(handle, range: nil) }

    /// A backend that cannot read in place (S3's body arrives in its own buffer) hands over its read.
    public func read(_ handle: ObjectHandle, range: Range<Int>?, reusing buffer: inout [UInt8]) throws {
        buffer = try read(handle, range: range)
    }

    /// A backend whose every read starts afresh (a local file opened again, memory) has nothing to bypass.
    public func reread(_ handle: ObjectHandle, range: Range<Int>?) throws -> [UInt8] { try read(handle, range: range) }

    /// Writes a content-addressed object: if it already exists it holds the same bytes (its name is
    /// their hash), so that is success.
    public func writeIfAbsent(_ handle: ObjectHandle, _ bytes: [UInt8]) throws {
        do { try write(handle, bytes) } catch let error as VaultError where error.code == .alreadyExists {}
    }

    public func writeFileIfAbsent(_ handle: ObjectHandle, path: String) throws {
        do { try writeFile(handle, path: path) } catch let error as VaultError where error.code == .alreadyExists {
            _ = try? Posix.unlink(path)
        }
    }

    public func missing(_ handle: ObjectHandle) -> VaultError {
        VaultError(
            .missing, "\(handle) is missing from the repository at \(location)",
            hint: "run 'chainvault verify' to see what is affected")
    }
}
