import Foundation
import Glibc
import Synchronization

/// The daemon's stderr: one logfmt record per line, `<N>` sd-daemon priority first (journald
/// reads it), then `event=`. Outside journald (no `JOURNAL_STREAM`) a `time=` in UTC ends the
/// record, since nothing else stamps the line. One `write(2)` per record under a lock, so records
/// from the job, probe and webhook threads never interleave.
public final class DaemonLogger: Sendable {
    let timestamps: Bool
    private let writing = Mutex(())

    public init(environment: [String: String]) {
        timestamps = environment["JOURNAL_STREAM"] == nil
    }

    public func log(_ priority: Int, _ event: String, _ fields: [(String, String)] = []) {
        log(priority, event, bytes: fields.map { ($0.0, Array($0.1.utf8)) })
    }

    public func log(_ priority: Int, _ event: String, bytes fields: [(String, [UInt8])]) {
        var all = fields
        if timestamps { all.append(("time", Array(Self.timestamp(Date()).utf8))) }
        var line = Array("<\(min(max(priority, 0), 7))>".utf8) + Logfmt.record(event: event, all)
        line.append(0x0A)
        writing.withLock { _ in
            var done = 0
            while done < line.count {
                let n = line[done...].withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                done += n
            }
        }
    }

    /// RFC 3339 with milliseconds, UTC (`2026-12-01T16:20:21.123Z`).
    static func timestamp(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&t, &parts)
        let ms = Int((date.timeIntervalSince1970 - Double(t)) * 1000)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), min(ms, 999))
    }
}
