import Foundation
import Glibc
import VaultCore
import VaultRepository

/// Restores what a node records beyond its content: extended attributes (POSIX ACLs included)
/// and fifos. A namespace this process may not set (`trusted.*` or `security.*` as a non-root user)
/// warns once per namespace and the restore goes on: the data is there, the operator is told.
final class MetadataApplier: @unchecked Sendable {
    // @unchecked: the only mutable state is behind `lock`; workers call in concurrently.
    private let lock = NSLock()
    private var warned: Set<String> = []
    private var messages: [String] = []

    var warnings: [String] { lock.withLock { messages } }

    /// Sets the attributes on an open file or directory; call after chown (which clears
    /// security.capability) and before chmod (user.* needs write permission).
    func setXattrs(_ node: Node, fd: Int32, path: String) throws {
        for x in node.xattrs {
            let r = x.value.withUnsafeBytes { v in
                cName(x.name).withUnsafeBufferPointer { Posix.fsetxattr(fd, $0.baseAddress!, v.baseAddress, v.count) }
            }
            if r != 0 { try failed(x, path: path) }
        }
    }

    /// Sets the attributes on entry `name` of `dirFD` without opening it (symlinks, fifos).
    func setXattrs(_ node: Node, dirFD: Int32, name: [UInt8], path: String) throws {
        guard !node.xattrs.isEmpty else { return }
        let p = (Array("/proc/self/fd/\(dirFD)/".utf8) + name + [0]).map { CChar(bitPattern: $0) }
        for x in node.xattrs {
            let r = x.value.withUnsafeBytes { v in
                cName(x.name).withUnsafeBufferPointer { Posix.lsetxattr(p, $0.baseAddress!, v.baseAddress, v.count) }
            }
            if r != 0 { try failed(x, path: path) }
        }
    }

    /// A warning for the restore's result, given once per `key`.
    func warn(once key: String, _ message: String) {
        lock.withLock { if warned.insert(key).inserted { messages.append(message) } }
    }

    /// Sets the owner of an open file or directory; false when it could not be set (an id this
    /// user namespace does not map, a file system that refuses it, NFS root squashing): then the
    /// restore warns once and goes on, and the caller drops setuid and setgid (`mode(_:ownerSet:)`).
    func setOwner(fd: Int32, uid: uid_t, gid: gid_t, path: String) -> Bool {
        ownerResult(Posix.trySetOwner(fd, uid: uid, gid: gid), path: path)
    }

    /// As `setOwner(fd:…)`, for entry `name` of `dirFD` itself (a symlink is not followed).
    func setOwner(at dirFD: Int32, _ name: [UInt8], uid: uid_t, gid: gid_t, path: String) -> Bool {
        ownerResult(Posix.trySetOwner(at: dirFD, name, uid: uid, gid: gid), path: path)
    }

    /// The mode to apply: without setuid and setgid when the owner could not be set, since on an
    /// entry left owned by the restoring user (root) those bits would grant that user's rights.
    static func mode(_ mode: UInt32, ownerSet: Bool) -> mode_t {
        mode_t(ownerSet ? mode : mode & ~UInt32(S_ISUID | S_ISGID))
    }

    private func ownerResult(_ e: Int32, path: String) -> Bool {
        if e == 0 { return true }
        warn(
            once: "owner",
            "cannot set owners (\(String(cString: strerror(e)))), first on \(path); restored owned by "
                + "the restoring user, without setuid and setgid bits")
        return false
    }

    private func cName(_ name: [UInt8]) -> [CChar] { name.map { CChar(bitPattern: $0) } + [0] }

    private func failed(_ x: ExtendedAttribute, path: String) throws {
        let e = errno
        if e == ENOSPC || e == EDQUOT { throw Posix.error("set extended attributes of", path, errno: e) }
        let namespace = x.namespace
        lock.withLock {
            guard warned.insert(namespace).inserted else { return }
            let reason = String(cString: strerror(e))
            messages.append(
                "cannot set \(namespace).* extended attributes (\(reason)), first on \(path); restored without them")
        }
    }

    /// Creates a fifo with its owner, attributes, mode and times. It is never opened (an open
    /// would block until a writer comes).
    func makeFifo(_ node: Node, in dirFD: Int32, relativePath: String, applyOwner: Bool) throws {
        let name = node.name.map { CChar(bitPattern: $0) } + [0]
        if mkfifoat(dirFD, name, 0o600) != 0 { throw Posix.error("create fifo", relativePath) }
        let owned = !applyOwner || setOwner(at: dirFD, node.name, uid: node.uid, gid: node.gid, path: relativePath)
        try setXattrs(node, dirFD: dirFD, name: node.name, path: relativePath)
        try Posix.setMode(at: dirFD, node.name, Self.mode(node.mode, ownerSet: owned), path: relativePath)
        let time = RestoreFile.time(node.mtimeNanos)
        try Posix.setTimes(at: dirFD, node.name, access: time, modification: time, path: relativePath)
    }

    /// Reserves the blocks of the zero runs the source had allocated (preallocated space, written
    /// zeros); holes are left as they are, since the file is new and was extended with ftruncate.
    /// A file system without fallocate leaves holes: the bytes are the same, only the allocation differs.
    static func reserveZeroRuns(_ node: Node, fd: Int32, path: String) throws {
        for run in node.zeroRuns where run.allocated {
            if Posix.fallocate(fd, offset: run.offset, length: run.length) != 0 {
                if errno == EOPNOTSUPP || errno == ENOSYS { return }
                throw Posix.error("reserve space in", path)
            }
        }
    }
}
