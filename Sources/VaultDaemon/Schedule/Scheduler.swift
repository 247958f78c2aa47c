import Foundation
import Synchronization

/// Where the time of day comes from; the daemon uses the system's, tests a fake one they move by
/// hand. (Not named `Clock`: that is the standard library's protocol for measuring time.)
public protocol WallClock: Sendable {
    var now: Date { get }
}

public struct SystemClock: WallClock {
    public init() {}
    public var now: Date { Date() }
}

/// Decides when each job is due. A job's next run is its schedule's next time after its last
/// run (or, for calendar schedules, after now), plus a random jitter below the policy's bound.
/// A run missed while the daemon was down (its time passed, or it never ran) is due once at
/// start-up, never once per missed slot. A failed, interrupted or crashed attempt is retried after
/// a backoff (1 min, doubling per consecutive failure, capped), never at once in a loop and never
/// only a full period later.
public final class Scheduler<Key: Hashable & Sendable & CustomStringConvertible>: Sendable {
    public struct Entry: Sendable {
        public let key: Key
        public let schedule: Schedule
        public let jitter: Double
        /// The longest wait between retries of this job.
        public let retryCap: Double
        public var lastRun: Date?
        public var nextRun: Date
    }

    private let clock: any WallClock
    private let random: @Sendable () -> Double
    private let entries = Mutex<[Key: Entry]>([:])

    /// `random` returns values in [0, 1); it spreads runs over the jitter window.
    public init(clock: any WallClock, random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        self.clock = clock
        self.random = random
    }

    /// Adds or replaces a job. `lastRun`, and `failures` consecutive unsuccessful attempts the last
    /// of which started at `lastAttempt`, come from the daemon's saved state.
    public func add(
        _ key: Key, schedule: Schedule, jitter: Double = 0, lastRun: Date? = nil,
        failures: Int = 0, lastAttempt: Date? = nil, retryCap: Double = 3600
    ) {
        let now = clock.now
        var next: Date
        let cap = min(retryCap, schedule.period)
        if failures > 0, let lastAttempt {
            // A job that failed, or took the daemon down with it, waits out its backoff even across
            // restarts: a crash loop becomes 1, 2, 4 … minutes apart.
            next = max(now, lastAttempt.addingTimeInterval(Self.backoff(failures: failures, cap: cap)))
        } else if let lastRun {
            next = nextAfter(lastRun, schedule: schedule, jitter: jitter)
            // Missed while down: run now (once).
            if next < now { next = now }
        } else if case .every = schedule {
            next = now  // never ran: a first backup now, not in 6 hours
        } else {
            next = nextAfter(now, schedule: schedule, jitter: jitter)
        }
        let entry = Entry(key: key, schedule: schedule, jitter: jitter, retryCap: cap, lastRun: lastRun, nextRun: next)
        entries.withLock { $0[key] = entry }
    }

    public func remove(_ key: Key) { _ = entries.withLock { $0.removeValue(forKey: key) } }

    /// Every job scheduled now.
    public var keys: Set<Key> { entries.withLock { Set($0.keys) } }

    /// The wait before retrying after `failures` consecutive unsuccessful attempts: 1 minute,
    /// doubling, at most `cap`.
    public static func backoff(failures: Int, cap: Double) -> Double {
        guard failures > 0 else { return 0 }
        return min(cap, 60 * pow(2, Double(min(failures - 1, 30))))
    }

    /// Records that the attempt started at `date` failed (or was interrupted), the `failures`-th in
    /// a row: the job is due again after its backoff, or at its regular time if that comes first.
    public func failed(_ key: Key, failures: Int, startedAt date: Date) {
        entries.withLock { entries in
            guard var e = entries[key] else { return }
            e.nextRun = min(e.nextRun, date.addingTimeInterval(Self.backoff(failures: failures, cap: e.retryCap)))
            entries[key] = e
        }
    }

    private func nextAfter(_ date: Date, schedule: Schedule, jitter: Double) -> Date {
        schedule.next(after: date).addingTimeInterval(jitter > 0 ? random() * jitter : 0)
    }

    /// Jobs whose time has come, earliest first (ties in the order of their keys' text).
    public func due() -> [Key] {
        let now = clock.now
        return entries.withLock { entries in
            entries.values.filter { $0.nextRun <= now }
                .sorted { ($0.nextRun, $0.key.description) < ($1.nextRun, $1.key.description) }.map(\.key)
        }
    }

    /// Records that a job ran (started) at `date`; its next run follows from there.
    public func ran(_ key: Key, at date: Date) {
        entries.withLock { entries in
            guard var e = entries[key] else { return }
            e.lastRun = date
            var next = nextAfter(date, schedule: e.schedule, jitter: e.jitter)
            if next <= date { next = date.addingTimeInterval(e.schedule.period) }
            e.nextRun = next
            entries[key] = e
        }
    }

    public func entry(_ key: Key) -> Entry? { entries.withLock { $0[key] } }

    /// How long until the earliest job is due (0 when one is due now); nil when there are none.
    public func untilNext() -> TimeInterval? {
        let now = clock.now
        return entries.withLock { $0.values.map(\.nextRun).min().map { max(0, $0.timeIntervalSince(now)) } }
    }
}

/// Jobs waiting for the repository, run one at a time in order. A job already waiting is not
/// queued twice (a slow backup must not pile up copies of itself).
public final class JobQueue<Job: Equatable & Sendable>: Sendable {
    private struct Jobs {
        var waiting: [Job] = []
        var running: Job?
    }

    private let jobs = Mutex(Jobs())

    public init() {}

    /// Returns false when the job was already waiting or running.
    @discardableResult
    public func enqueue(_ job: Job) -> Bool {
        jobs.withLock { jobs in
            if jobs.waiting.contains(job) || jobs.running == job { return false }
            jobs.waiting.append(job)
            return true
        }
    }

    /// The next job, marked running; nil when none waits or one is still running.
    public func start() -> Job? {
        jobs.withLock { jobs in
            guard jobs.running == nil, !jobs.waiting.isEmpty else { return nil }
            jobs.running = jobs.waiting.removeFirst()
            return jobs.running
        }
    }

    public func finish(_ job: Job) {
        jobs.withLock { jobs in
            if jobs.running == job { jobs.running = nil }
        }
    }

    public var pending: [Job] { jobs.withLock { $0.waiting } }
}
