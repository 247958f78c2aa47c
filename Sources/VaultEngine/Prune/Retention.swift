import Foundation
import VaultRepository

/// Which snapshots to keep (restic's semantics): the newest N; the newest in each of the last N
/// hours/days/weeks/months/years that have a snapshot; everything within a duration. Snapshots are
/// grouped by host and source, and each group is judged on its own.
public struct RetentionPolicy: Sendable, Codable {
    public var keepLast = 0
    public var keepHourly = 0
    public var keepDaily = 0
    public var keepWeekly = 0
    public var keepMonthly = 0
    public var keepYearly = 0
    public var keepWithinSeconds: Double = 0

    public init() {}

    public var isEmpty: Bool {
        keepLast + keepHourly + keepDaily + keepWeekly + keepMonthly + keepYearly == 0 && keepWithinSeconds <= 0
    }

    /// Returns the snapshots to keep, each with the reasons, and the ones to remove.
    public func apply(_ snapshots: [SnapshotRecord]) -> (keep: [(SnapshotRecord, [String])], remove: [SnapshotRecord]) {
        var keep: [(SnapshotRecord, [String])] = []
        var remove: [SnapshotRecord] = []
        let groups = Dictionary(grouping: snapshots) { "\($0.snapshot.hostname)\u{0}\($0.snapshot.source)" }
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for (_, group) in groups.sorted(by: { $0.key < $1.key }) {
            // Partial snapshots are never counted as kept backups: the policy is judged on the
            // complete ones, and a partial one is kept only while no complete snapshot is newer.
            let ordered = SnapshotOrder.sorted(group)
            let lastComplete = ordered.lastIndex { !$0.snapshot.isPartial } ?? -1
            for (i, s) in ordered.enumerated() where s.snapshot.isPartial {
                if i > lastComplete {
                    keep.append((s, ["partial, newer than every complete snapshot"]))
                } else {
                    remove.append(s)
                }
            }
            let newestFirst = Array(ordered.filter { !$0.snapshot.isPartial }.reversed())
            guard let newest = newestFirst.first?.snapshot.time else { continue }
            typealias Bucket = (name: String, count: Int, key: (Date) -> String)
            let buckets: [Bucket] = [
                (
                    "hourly", keepHourly,
                    { d in
                        let c = calendar.dateComponents([.year, .month, .day, .hour], from: d);
                        return "\(c.year!)-\(c.month!)-\(c.day!)-\(c.hour!)"
                    }
                ),
                (
                    "daily", keepDaily,
                    { d in
                        let c = calendar.dateComponents([.year, .month, .day], from: d);
                        return "\(c.year!)-\(c.month!)-\(c.day!)"
                    }
                ),
                (
                    "weekly", keepWeekly,
                    { d in
                        let c = calendar.dateComponents([.yearForWeekOfYear, .weekOfYear], from: d);
                        return "\(c.yearForWeekOfYear!)-\(c.weekOfYear!)"
                    }
                ),
                (
                    "monthly", keepMonthly,
                    { d in
                        let c = calendar.dateComponents([.year, .month], from: d); return "\(c.year!)-\(c.month!)"
                    }
                ),
                ("yearly", keepYearly, { d in "\(calendar.component(.year, from: d))" })
            ]
            var used = [Int](repeating: 0, count: buckets.count)
            var last = [String?](repeating: nil, count: buckets.count)
            for (i, s) in newestFirst.enumerated() {
                var reasons: [String] = []
                if i < keepLast { reasons.append("last \(keepLast)") }
                if keepWithinSeconds > 0, newest.timeIntervalSince(s.snapshot.time) <= keepWithinSeconds {
                    reasons.append("within")
                }
                for (b, bucket) in buckets.enumerated() where bucket.count > 0 && used[b] < bucket.count {
                    let key = bucket.key(s.snapshot.time)
                    if key != last[b] {
                        last[b] = key
                        used[b] += 1
                        reasons.append(bucket.name)
                    }
                }
                if reasons.isEmpty { remove.append(s) } else { keep.append((s, reasons)) }
            }
        }
        return (keep, remove)
    }
}
