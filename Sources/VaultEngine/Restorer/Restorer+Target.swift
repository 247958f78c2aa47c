import Foundation
import Glibc
import VaultCore

/// Where a restore may write: a symlinked target is followed (the link stays, its directory is
/// restored), and targets that would overwrite the snapshot's own source from inside, the
/// repository, the state directory or the whole system are refused before anything is read.
extension Restorer {
    /// A target that is a symlink to a directory means that directory (`/var/lib/bitcoind ->
    /// /data/bitcoind`): restoring "into the link" must not replace the link with a directory.
    func resolveTarget(_ path: String) throws -> String {
        guard let st = try Posix.lstat(path), (st.st_mode & S_IFMT) == S_IFLNK else { return path }
        var target = stat()
        guard fstatat(AT_FDCWD, path, &target, 0) == 0, (target.st_mode & S_IFMT) == S_IFDIR else { return path }
        return Self.realPath(path)
    }

    func refuseUnsafeTarget(_ target: String, source: String) throws {
        let real = Self.realPath(target)
        let hint = "restore into the node's data directory or a new directory elsewhere; nothing was changed"
        if real == "/" {
            throw VaultError(.unsafeInput, "restore target \(target) is the root directory", hint: hint)
        }
        if !source.isEmpty, Self.isInside(real, Self.realPath(source)), real != Self.realPath(source) {
            throw VaultError(
                .unsafeInput, "restore target \(target) is inside \(source), the source of the snapshot",
                hint: hint)
        }
        for refused in options.refusedTargets where !refused.isEmpty {
            let r = Self.realPath(refused)
            if Self.isInside(real, r) || Self.isInside(r, real) {
                throw VaultError(
                    .unsafeInput, "restore target \(target) overlaps \(refused), which chainvault itself uses",
                    hint: hint)
            }
        }
    }

    /// True when `path` is `parent` or below it.
    static func isInside(_ path: String, _ parent: String) -> Bool {
        path == parent || parent == "/" || path.hasPrefix(parent.hasSuffix("/") ? parent : parent + "/")
    }

    /// The canonical path of the longest existing prefix, with the rest appended lexically.
    static func realPath(_ path: String) -> String {
        var head = Path.absolute(path), tail: [String] = []
        while head != "/" {
            if let resolved = realpath(head, nil) {
                defer { free(resolved) }
                return ([String(cString: resolved)] + tail.reversed()).joined(separator: "/").replacingOccurrences(
                    of: "//", with: "/")
            }
            tail.append(Path.base(head))
            head = Path.parent(head)
        }
        return "/" + tail.reversed().joined(separator: "/")
    }

    /// A directory on another device than its parent (or `/`) cannot be renamed: it is restored in place.
    static func isMountPoint(_ path: String) -> Bool {
        var own = stat(), parent = stat()
        guard fstatat(AT_FDCWD, path, &own, 0) == 0, fstatat(AT_FDCWD, Path.parent(path), &parent, 0) == 0 else {
            return false
        }
        return own.st_dev != parent.st_dev || own.st_ino == parent.st_ino
    }
}
