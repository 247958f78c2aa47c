import Foundation
import Glibc

/// The standard `process_*` series every Prometheus client library exports, read from `/proc` at
/// scrape time: two small reads and one directory listing, no allocation per byte.
public struct ProcessMetrics: Sendable {
    public var cpuSeconds: Double
    public var startTime: Double
    public var virtualBytes: Double
    public var residentBytes: Double
    public var openFDs: Double
    public var maxFDs: Double

    /// nil when `/proc` is not mounted (the series are then left out, not reported as zero).
    public static func read() -> ProcessMetrics? {
        guard let stat = readSmallFile("/proc/self/stat"), let close = stat.lastIndex(of: UInt8(ascii: ")")) else {
            return nil
        }
        // Fields after the command name, which may itself hold spaces and parentheses: index 0
        // is field 3 (state) of proc(5), so field N is at N - 3.
        let fields = stat[(close + 1)...].split(separator: 0x20).map { String(decoding: $0, as: UTF8.self) }
        guard fields.count > 21, let utime = Double(fields[11]), let stime = Double(fields[12]),
            let start = Double(fields[19]), let vsize = Double(fields[20]), let rss = Double(fields[21])
        else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let page = Double(sysconf(Int32(_SC_PAGESIZE)))
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return ProcessMetrics(
            cpuSeconds: (utime + stime) / ticks, startTime: bootTime() + start / ticks,
            virtualBytes: vsize, residentBytes: rss * page, openFDs: Double(countOpenFDs()),
            maxFDs: Double(limit.rlim_cur))
    }

    public func write(to m: inout MetricsWriter) {
        m.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.")
        m.sample("process_cpu_seconds_total", [], cpuSeconds)
        m.family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.")
        m.sample("process_start_time_seconds", [], startTime)
        m.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.")
        m.sample("process_virtual_memory_bytes", [], virtualBytes)
        m.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
        m.sample("process_resident_memory_bytes", [], residentBytes)
        m.family("process_open_fds", "gauge", "Number of open file descriptors.")
        m.sample("process_open_fds", [], openFDs)
        m.family("process_max_fds", "gauge", "Maximum number of open file descriptors.")
        m.sample("process_max_fds", [], maxFDs)
    }

    static func bootTime() -> Double {
        guard let text = readSmallFile("/proc/stat") else { return 0 }
        for line in text.split(separator: 0x0A) where line.starts(with: Array("btime ".utf8)) {
            return Double(String(decoding: line.dropFirst(6), as: UTF8.self)) ?? 0
        }
        return 0
    }

    /// Entries of /proc/self/fd, less `.`, `..` and the descriptor this listing uses.
    static func countOpenFDs() -> Int {
        guard let dir = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(dir) }
        var n = 0
        while let entry = readdir(dir) {
            let dot = withUnsafeBytes(of: entry.pointee.d_name) { $0[0] == UInt8(ascii: ".") }
            if !dot { n += 1 }
        }
        return max(0, n - 1)
    }

    /// /proc files report size 0: read until end, at most 64 KiB.
    static func readSmallFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var out: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 4096)
        while out.count < 64 << 10 {
            let n = Glibc.read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return out
    }
}
