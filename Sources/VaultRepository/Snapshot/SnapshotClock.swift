import Foundation
import VaultStorage

/// Snapshots dated ahead of the store's clock (FORMAT.md §8): the clock of the host that wrote
/// them runs fast. They are judged against the store (S3's `Date` header, the time the file
/// system gives a file created now), not the reader, because the reader's clock may be as wrong
/// as the writer's: a reader as fast as the writer saw nothing, a slow one blamed correct hosts.
public enum SnapshotClock {
    /// How far ahead a snapshot may be dated before it is reported: room for a backup that started
    /// while the store's clock was read, and the store's one-second resolution.
    public static let tolerance: TimeInterval = 300

    public struct Judgement: Sendable {
        /// The store's "now", or this host's when the store's could not be read.
        public let now: Date
        /// False when `now` is this host's clock (the store could not tell, e.g. a read-only directory).
        public let isStoreClock: Bool
        public let ahead: [SnapshotRecord]

        /// One warning line per snapshot ahead, naming it, its host and both times.
        public var warnings: [String] {
            let clock = isStoreClock ? "the store's clock" : "this host's clock (the store's could not be read)"
            return ahead.map { r in
                "snapshot \(r.shortID) of \(r.snapshot.hostname) is dated \(Timestamp.format(r.snapshot.time)), ahead of \(clock), "
                    + "which said \(Timestamp.format(now)): the clock of \(r.snapshot.hostname) runs fast; "
                    + "snapshots are ordered by what each backup saw, not by time alone"
            }
        }
    }

    public static func judge(_ records: [SnapshotRecord], backend: Backend) -> Judgement {
        let store = (try? (backend as? StoreClock)?.storeNow()) ?? nil
        let now = store ?? Date()
        return Judgement(
            now: now, isStoreClock: store != nil,
            ahead: records.filter { $0.snapshot.time > now.addingTimeInterval(tolerance) })
    }
}
