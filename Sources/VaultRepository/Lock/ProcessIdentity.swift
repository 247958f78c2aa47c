import Foundation
import Glibc
import VaultCore

/// Who holds a lock, precisely enough to tell on the same host whether that very process still
/// runs: a pid means nothing without its PID namespace (containers, `unshare --pid`), and a pid
/// and namespace mean nothing across a reboot or once the pid is reused, hence boot id and the
/// process's start time.
public struct ProcessIdentity: Equatable, Sendable {
    public var hostname: String
    /// `/proc/sys/kernel/random/boot_id`: new at every boot, shared by every container of a kernel.
    public var bootID: String?
    /// The inode of `/proc/self/ns/pid`: equal inodes are the same PID namespace.
    public var pidNamespace: UInt64?
    public var pid: Int32
    /// Field 22 of `/proc/PID/stat`: clock ticks after boot when the process started.
    public var startTime: UInt64?

    public init(hostname: String, bootID: String?, pidNamespace: UInt64?, pid: Int32, startTime: UInt64?) {
        self.hostname = hostname; self.bootID = bootID; self.pidNamespace = pidNamespace; self.pid = pid
        self.startTime = startTime
    }

    public static let current: ProcessIdentity = {
        let pid = getpid()
        return ProcessIdentity(
            hostname: ProcessInfo.processInfo.hostName, bootID: readBootID(),
            pidNamespace: pidNamespace(of: "self"), pid: pid, startTime: startTime(of: pid))
    }()

    static func readBootID() -> String? {
        guard let bytes = readProcFile("/proc/sys/kernel/random/boot_id") else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    static func pidNamespace(of process: String) -> UInt64? {
        // stat, not lstat: the link itself has its own inode; its target names the namespace.
        guard let fd = try? FileDescriptor.open("/proc/\(process)/ns/pid", O_RDONLY),
            let st = try? fd.status(path: "/proc/\(process)/ns/pid")
        else { return nil }
        return UInt64(st.st_ino)
    }

    /// The start time of `pid` as this process's /proc shows it, nil when there is no such process.
    /// The command name (field 2) may hold spaces and parentheses, so fields count from the last ')'.
    static func startTime(of pid: Int32) -> UInt64? {
        guard pid > 0, let bytes = readProcFile("/proc/\(pid)/stat"),
            let close = bytes.lastIndex(of: UInt8(ascii: ")"))
        else { return nil }
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        // After ')' come field 3 (state) onwards, so field 22 is at index 19.
        guard fields.count > 19 else { return nil }
        return UInt64(String(decoding: fields[19], as: UTF8.self))
    }

    /// Whether this process's /proc is the one of its own PID namespace (`unshare --pid` without
    /// `--mount-proc` leaves the parent's): only then does /proc/PID name a process of that namespace.
    static let procMatchesNamespace: Bool = {
        var buffer = [CChar](repeating: 0, count: 32)
        let n = readlink("/proc/self", &buffer, buffer.count - 1)
        guard n > 0 else { return false }
        return Int32(String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)) == getpid()
    }()

    /// /proc files report size 0: read until end of file (they are a few hundred bytes).
    static func readProcFile(_ path: String) -> [UInt8]? {
        guard let fd = try? FileDescriptor.open(path, O_RDONLY) else { return nil }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd.rawValue, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return n == 0 ? out : nil }
            out += chunk[0..<n]
            if out.count > 1 << 16 { return nil }
        }
    }
}
