import VaultCore

/// One directory entry. Times are nanoseconds since the epoch; ctime, inode, device and link
/// count are recorded for change detection and hardlinks, never restored.
public struct Node: Sendable, Equatable {
    public enum Kind: UInt8, Sendable {
        case file = 1
        case directory = 2
        case symlink = 3
        /// A named pipe: only its metadata exists (tree format v2).
        case fifo = 4
    }

    public var name: [UInt8]
    public var kind: Kind
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var mtimeNanos: Int64
    public var ctimeNanos: Int64
    public var inode: UInt64
    public var device: UInt64
    public var links: UInt32
    public var size: UInt64
    /// Files: the data chunk ids in file order, filling every byte not in `zeroRuns`. Empty for other kinds.
    public var chunks: [BlobID]
    /// Files: ranges that read as zeros and whose bytes are not stored (holes, all-zero chunks),
    /// sorted, not overlapping (tree format v2).
    public var zeroRuns: [ZeroRun]
    /// Directories: the subtree id.
    public var subtree: BlobID?
    /// Symlinks: the target, as stored by readlink.
    public var linkTarget: [UInt8]
    /// Extended attributes (POSIX ACLs included, as `system.posix_acl_*`), sorted by name (tree format v2).
    public var xattrs: [ExtendedAttribute]
    /// Files: how the stored bytes differ from the file's (tree format v3); nil: they are the file's.
    public var transform: ContentTransform?

    public init(
        name: [UInt8], kind: Kind, mode: UInt32 = 0o644, uid: UInt32 = 0, gid: UInt32 = 0, mtimeNanos: Int64 = 0,
        ctimeNanos: Int64 = 0, inode: UInt64 = 0, device: UInt64 = 0, links: UInt32 = 1, size: UInt64 = 0,
        chunks: [BlobID] = [], subtree: BlobID? = nil, linkTarget: [UInt8] = [], zeroRuns: [ZeroRun] = [],
        xattrs: [ExtendedAttribute] = []
    ) {
        self.name = name; self.kind = kind; self.mode = mode; self.uid = uid; self.gid = gid
        self.mtimeNanos = mtimeNanos; self.ctimeNanos = ctimeNanos; self.inode = inode; self.device = device
        self.links = links; self.size = size; self.chunks = chunks; self.subtree = subtree; self.linkTarget = linkTarget
        self.zeroRuns = zeroRuns; self.xattrs = xattrs.sorted { $0.name.lexicographicallyPrecedes($1.name) }
    }

    public var nameString: String { String(decoding: name, as: UTF8.self) }

    /// True when the node can be written in tree format v1 (no fifo, no zero runs, no xattrs).
    var fitsVersion1: Bool { kind.rawValue <= 3 && zeroRuns.isEmpty && xattrs.isEmpty && transform == nil }

    /// A name a restore may create inside a directory: not empty, not `.` or `..`, no `/` or NUL,
    /// at most 255 bytes (NAME_MAX).
    public static func isSafeName(_ name: [UInt8]) -> Bool {
        !name.isEmpty && name.count <= 255 && name != [46] && name != [46, 46] && !name.contains(47)
            && !name.contains(0)
    }
}

/// A range of a file that reads as zeros and is not stored. `allocated` says whether the source had
/// disk blocks behind it (preallocated space, written zeros): a restore reserves them again with
/// `fallocate`; otherwise it was a hole and stays one.
public struct ZeroRun: Sendable, Equatable {
    public var offset: UInt64
    public var length: UInt64
    public var allocated: Bool

    public init(offset: UInt64, length: UInt64, allocated: Bool) {
        self.offset = offset; self.length = length; self.allocated = allocated
    }

    public var end: UInt64 { offset + length }
}

/// One extended attribute: name and value are the kernel's bytes.
public struct ExtendedAttribute: Sendable, Equatable {
    public var name: [UInt8]
    public var value: [UInt8]

    public init(name: [UInt8], value: [UInt8]) { self.name = name; self.value = value }

    /// Linux limits (linux/limits.h): XATTR_NAME_MAX 255, XATTR_SIZE_MAX 64 KiB per value,
    /// XATTR_LIST_MAX 64 KiB for all names of one file, each with its NUL.
    public static let maxName = 255
    public static let maxValue = 65_536
    public static let maxList = 65_536

    /// `user`, `trusted`, `security`, `system`…: what decides whether a restore may set it.
    public var namespace: String {
        String(decoding: name.prefix { $0 != 46 }, as: UTF8.self)
    }
}
