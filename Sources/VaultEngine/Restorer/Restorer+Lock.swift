import Glibc
import VaultCore

/// Two restores into one target must not run at once: the second would take the first's live
/// work (its journal, its build, its staging directory) for what an interrupted restore left, and
/// complete, undo or remove it under the first. Each restore holds `flock(LOCK_EX | LOCK_NB)` on
/// the directories it works in, from before its recovery step until it returns; a second one is
/// refused at once (exit 12) before it has changed anything. The lock goes with the process, so
/// a killed restore leaves none behind.
extension Restorer {
    /// The held locks: open descriptors of directories, closed (unlocked) by `unlockAll`.
    final class TargetLocks {
        private(set) var held: [(fd: Int32, device: UInt64, inode: UInt64)] = []

        /// Locks `path` (a directory) unless this run already holds it: flock conflicts between
        /// two open files of one process too. A path that is not a directory is not locked.
        func lock(_ path: String, refusal: (Int32?) -> VaultError) throws {
            let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 { return }
            var st = stat()
            guard fstat(fd, &st) == 0,
                !held.contains(where: { $0.device == UInt64(st.st_dev) && $0.inode == UInt64(st.st_ino) })
            else {
                Posix.close(fd)
                return
            }
            let locked: Bool
            do { locked = try Posix.flock(fd, LOCK_EX | LOCK_NB, path: path) } catch {
                Posix.close(fd)
                throw error
            }
            if !locked {
                Posix.close(fd)
                throw refusal(Self.holder(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)))
            }
            held.append((fd, UInt64(st.st_dev), UInt64(st.st_ino)))
        }

        func unlockAll() {
            for h in held { Posix.close(h.fd) }
            held = []
        }

        /// The pid holding a flock on the inode, from /proc/locks ("1: FLOCK ADVISORY WRITE PID
        /// MAJ:MIN:INODE 0 EOF", device numbers in hex); nil when it cannot be told.
        static func holder(device: UInt64, inode: UInt64) -> Int32? {
            let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~UInt64(0xfff))
            let minor = (device & 0xff) | ((device >> 12) & ~UInt64(0xff))
            for line in procLocks().split(separator: "\n") where !line.contains("->") {
                let f = line.split(separator: " ", omittingEmptySubsequences: true)
                guard f.count >= 6, f[1] == "FLOCK" else { continue }
                let id = f[5].split(separator: ":")
                if id.count == 3, UInt64(id[0], radix: 16) == major, UInt64(id[1], radix: 16) == minor,
                    UInt64(id[2]) == inode
                {
                    return Int32(f[4])
                }
            }
            return nil
        }

        /// procfs reports a size of 0: read until the end.
        private static func procLocks() -> String {
            let fd = Glibc.open("/proc/locks", O_RDONLY | O_CLOEXEC)
            if fd < 0 { return "" }
            defer { Posix.close(fd) }
            var out: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 1 << 16)
            while out.count < 16 << 20 {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                out += buffer[0..<n]
            }
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// The target directory itself (in place it is never renamed, so its inode is the target's
    /// for the whole run) and, with `--path`, the restored directory inside it.
    func lockTarget(_ locks: TargetLocks, targetDirectory: String) throws {
        for path in [targetDirectory, destination] {
            try locks.lock(path) { pid in
                VaultError(
                    .locked, "another restore into \(path) is running\(pid.map { " (pid \($0))" } ?? "")",
                    hint: "wait until it ends (or stop it), then run this restore again; nothing was changed")
            }
        }
    }

    /// A staged restore works beside the destination (staging, leftovers of earlier runs, the
    /// swap) and the swap replaces the destination's inode: the parent directory is what stays.
    /// Two staged restores into siblings of one directory are therefore not run at once either.
    func lockStagingParent(_ locks: TargetLocks) throws {
        let parent = Path.parent(destination)
        try locks.lock(parent) { pid in
            VaultError(
                .locked,
                "another restore into \(destination) or beside it in \(parent) is running"
                    + (pid.map { " (pid \($0))" } ?? ""),
                hint: "wait until it ends (or stop it), then run this restore again; nothing was changed")
        }
    }
}
