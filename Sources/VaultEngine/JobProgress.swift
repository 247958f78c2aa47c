import Foundation
import Synchronization

/// Live counters of a running job, read by the CLI's progress line (and the daemon's status).
public final class JobProgress: Sendable {
    private struct Counters {
        var files: UInt64 = 0
        var bytes: UInt64 = 0
        var total: UInt64 = 0
        var phase = ""
    }

    private let counters = Mutex(Counters())
    public let started = Date()
    /// Whether anyone shows a total (a progress line, the daemon's status): when nobody does, a
    /// first backup skips the size walk that would find it (`--quiet`, `--no-progress`).
    public let totalWanted: Bool

    public init(totalWanted: Bool = true) { self.totalWanted = totalWanted }

    public func add(files: UInt64 = 0, bytes: UInt64 = 0) {
        counters.withLock {
            $0.files += files; $0.bytes += bytes
        }
    }
    public func setTotal(_ total: UInt64) { counters.withLock { $0.total = total } }

    /// The step the job is in (restore: "fetching", "syncing", "swapping"). With `total`, the
    /// phase has its own amount of work: the counters start again from zero against it.
    public func setPhase(_ phase: String, total: UInt64? = nil) {
        counters.withLock {
            $0.phase = phase
            if let total { $0.total = total; $0.files = 0; $0.bytes = 0 }
        }
    }

    public var snapshot: (files: UInt64, bytes: UInt64, total: UInt64, elapsed: Double, phase: String) {
        counters.withLock { ($0.files, $0.bytes, $0.total, Date().timeIntervalSince(started), $0.phase) }
    }
}
