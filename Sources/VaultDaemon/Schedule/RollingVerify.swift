import Foundation

/// Where a policy's rolling verify stands in its window, kept in the daemon state.
///
/// A cursor over pack names in byte order (not per-pack read times: a 10 TB repository has
/// 600,000 packs, and the state is rewritten after every job). Every pack after the cursor is
/// unread in this window. A pack that appears after the cursor passed it is left for the next
/// window (it did not exist when this one began); one that disappears is simply not read.
public struct VerifyCoverage: Codable, Sendable, Equatable {
    public struct Run: Codable, Sendable, Equatable {
        /// The last pack name this run read.
        public var last: String
        public var time: Double
    }

    public var windowStart: Double
    /// The last pack read in this window; "" before the first.
    public var cursor = ""
    /// Every pack that existed was read: the next run starts a new window.
    public var complete = false
    public var readInWindow = 0
    public var unreadInWindow = 0
    /// When the next pack in line was last read (or, never read, when this window began).
    public var oldestUnreadSince: Double?
    /// This window's runs, and the previous window's: they tell when a pack was last read.
    public var runs: [Run] = []
    public var previousRuns: [Run] = []

    public init(windowStart: Double) { self.windowStart = windowStart }

    /// The share of the window's packs read so far (1 when there are none).
    public var share: Double {
        let total = readInWindow + unreadInWindow
        return total == 0 ? 1 : Double(readInWindow) / Double(total)
    }

    /// How long the oldest unread pack has gone unread (0 when every pack was read).
    public func oldestUnreadAge(now: Double) -> Double {
        guard !complete, let since = oldestUnreadSince else { return 0 }
        return max(0, now - since)
    }
}

/// Chooses the packs a verify run reads so that, within `window` seconds, every pack that existed
/// when the window began is read: each run reads its share of what is left (the unread packs over
/// the runs still to come before the window ends, rounded up), at least one pack, and the last
/// run of a window (or any run after its end) reads everything left.
public enum RollingVerify {
    /// Runs kept per window; beyond this, neighbours merge (keeping the earlier time, so ages
    /// are never understated).
    static let maxRuns = 512

    /// The packs to read now and the coverage to save once they were read.
    public static func plan(
        _ coverage: VerifyCoverage?, packs: [String], now: Double, window: Double,
        every: Double
    ) -> (read: [String], coverage: VerifyCoverage) {
        var c = coverage ?? VerifyCoverage(windowStart: now)
        let sorted = packs.sorted()
        var firstUnread = sorted.partitioningIndex { $0 > c.cursor }
        if c.complete || (firstUnread == sorted.count && !c.cursor.isEmpty) {
            var next = VerifyCoverage(windowStart: now)
            next.previousRuns = c.runs
            c = next
            firstUnread = 0
        }
        let unread = sorted[firstUnread...]
        guard !unread.isEmpty else { return ([], c) }
        let runsLeft = max(1, Int(((c.windowStart + window - now) / max(every, 1)).rounded(.down)))
        let count = min(unread.count, max(1, (unread.count + runsLeft - 1) / runsLeft))
        let read = Array(unread.prefix(count))
        c.cursor = read.last!
        c.readInWindow += count
        c.unreadInWindow = unread.count - count
        c.complete = c.unreadInWindow == 0
        c.runs.append(VerifyCoverage.Run(last: c.cursor, time: now))
        if c.runs.count > maxRuns {
            c.runs = stride(from: 0, to: c.runs.count, by: 2).map { i in
                i + 1 < c.runs.count ? VerifyCoverage.Run(last: c.runs[i + 1].last, time: c.runs[i].time) : c.runs[i]
            }
        }
        if let next = unread.dropFirst(count).first {
            // The previous window read in name order: the first of its runs that reached this name read it.
            c.oldestUnreadSince = c.previousRuns.first { $0.last >= next }?.time ?? c.windowStart
        } else {
            c.oldestUnreadSince = nil
        }
        return (read, c)
    }
}

extension Array where Element == String {
    /// The first index whose element satisfies `predicate`, which must be false then true along the array.
    func partitioningIndex(where predicate: (String) -> Bool) -> Int {
        var low = 0, high = count
        while low < high {
            let mid = (low + high) / 2
            if predicate(self[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}
