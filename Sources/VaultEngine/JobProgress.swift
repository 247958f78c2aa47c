import Foundation

/// Live counters of a running job, read by the CLI's progress line (and the daemon's status).
public final class JobProgress: @unchecked Sendable {
    private let lock = NSLock()
    private var _files: UInt64 = 0
    private var _bytes: UInt64 = 0
    private var _total: UInt64 = 0
    private var _phase = ""
    public let started = Date()
    /// Whether anyone shows a total (a progress line, the daemon's status): when nobody does, a
    /// first backup skips the size walk that would find it (`--quiet`, `--no-progress`).
    public let totalWanted: Bool

    public init(totalWanted: Bool = true) { self.totalWanted = totalWanted }

    public func add(files: UInt64 = 0, bytes: UInt64 = 0) { lock.withLock { _files += files; _bytes += bytes } }
    public func setTotal(_ total: UInt64) { lock.withLock { _total = total } }

    /// The step the job is in (restore: "fetching", "syncing", "swapping"). With `total`, the
    /// phase has its own amount of work: the counters start again from zero against it.
    public func setPhase(_ phase: String, total: UInt64? = nil) {
        lock.withLock {
            _phase = phase
            if let total { _total = total; _files = 0; _bytes = 0 }
        }
    }

    public var snapshot: (files: UInt64, bytes: UInt64, total: UInt64, elapsed: Double, phase: String) {
        lock.withLock { (_files, _bytes, _total, Date().timeIntervalSince(started), _phase) }
    }
}
