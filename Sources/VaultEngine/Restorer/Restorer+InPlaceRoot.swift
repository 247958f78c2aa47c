import Glibc
import VaultCore

/// The target directory's own mode and mtime as they were before an in-place restore, kept as
/// `.chainvault-restore/before` (FORMAT.md, "In-place restore"). Making the work directory inside
/// the target changes the target's mtime before anything else is written, and removing it changes
/// it again; a rebuild undone before its journal exists (SIGTERM, a full disk, a kill and then
/// `--rollback` or the next run) has no journal to take the old mtime from, so it is this file.
extension Restorer {
    static let beforeName: [UInt8] = Array("before".utf8)

    /// Written and synced right after the work directory is made, before anything is built.
    func writeBefore(_ attributes: EntryAttributes, workFD: Int32) throws {
        let shown = destination + "/.chainvault-restore/before"
        let fd = try Posix.openAt(
            workFD, Self.beforeName, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode: 0o600,
            display: shown)
        defer { Posix.close(fd) }
        let bytes = Array((attributes.text + "\n").utf8)
        try bytes.withUnsafeBytes { try Posix.writeAll(fd, $0, path: shown) }
        try Posix.fsync(fd, path: shown)
        try Posix.fsync(workFD, path: destination + "/.chainvault-restore")
    }

    /// nil when missing (an older chainvault's work directory) or not whole.
    func readBefore(workFD: Int32) -> EntryAttributes? {
        let fd = Posix.tryOpenAt(workFD, Self.beforeName, O_RDONLY | O_NOFOLLOW)
        if fd < 0 { return nil }
        defer { Posix.close(fd) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 1, n < buffer.count, buffer[n - 1] == 10 else { return nil }
        return EntryAttributes(text: Substring(String(decoding: buffer[0..<(n - 1)], as: UTF8.self)))
    }

    /// The target's mode and mtime set back, after the work directory inside it is gone.
    func setRootAttributes(_ a: EntryAttributes, targetFD: Int32) throws {
        var times = [Glibc.timespec](repeating: RestoreFile.time(a.mtimeNanos), count: 2)
        if fchmod(targetFD, mode_t(a.mode)) != 0 || futimens(targetFD, &times) != 0 {
            throw Posix.error("set the times of", destination)
        }
    }
}
