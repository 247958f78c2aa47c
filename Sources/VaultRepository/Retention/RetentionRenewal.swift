import Foundation
import VaultCore
@_spi(Repository) import VaultStorage

/// Lengthens the Object Lock retention of what the kept snapshots need (config, keys, kept
/// snapshots, kept packs, the index files still current after the prune) before it runs out: an
/// object whose retention ends within half the configured period gets `now + period`. So as long
/// as prune runs at least every half period, a kept backup is never deletable; what is no longer
/// referenced is left to expire. An object written less than half a period ago is not asked
/// about: its retention was set to `written + period` by its PUT (FORMAT.md §1, "Object Lock").
struct RetentionRenewal {
    let backend: Backend & RetentionExtending
    let period: TimeInterval
    let now: Date

    init?(_ backend: Backend, now: Date) {
        guard let store = backend as? Backend & RetentionExtending, let period = store.retentionPeriod else {
            return nil
        }
        self.backend = store; self.period = period; self.now = now
    }

    struct Outcome { var checked = 0; var extended = 0 }

    /// `objects`: each with the time the store says it was written (nil: unknown, so it is asked).
    func run(_ objects: [(ObjectHandle, Date?)]) throws -> Outcome {
        var outcome = Outcome()
        let horizon = now.addingTimeInterval(period / 2)
        for (handle, written) in objects {
            if let written, written.addingTimeInterval(period) >= horizon { continue }
            outcome.checked += 1
            do {
                if let until = try backend.retainUntil(handle), until >= horizon { continue }
                try backend.extendRetention(handle, until: now.addingTimeInterval(period))
                outcome.extended += 1
            } catch let error as VaultError {
                throw VaultError(
                    error.code,
                    "prune stopped: the Object Lock retention of \(handle), which a kept snapshot "
                        + "needs, could not be extended", cause: error,
                    hint: "the pruning credential needs s3:GetObjectRetention and s3:PutObjectRetention "
                        + "on the bucket; nothing was deleted")
            }
        }
        return outcome
    }
}

extension Repository {
    /// Before a prune deletes anything: lengthens the Object Lock retention of what the kept
    /// snapshots need (`RetentionRenewal`). Nil when the store keeps no retention; a refusal
    /// throws, naming the permission. `packWritten`: the store's write time of each pack by name.
    public func extendRetention(
        keptSnapshots: Set<SnapshotID>, keptPacks: [PackID], packWritten: [String: Date],
        now: Date
    ) throws -> (checked: Int, extended: Int)? {
        guard let renewal = RetentionRenewal(backend, now: now) else { return nil }
        let objects = try RetentionRenewal.keptObjects(
            backend, snapshots: keptSnapshots, packs: keptPacks,
            packWritten: packWritten)
        let outcome = try renewal.run(objects)
        return (outcome.checked, outcome.extended)
    }

    /// After a prune's new index is written and before the old ones go: lengthens the retention
    /// of every index file that stays current (all listed but `superseded`). Nil as above.
    public func extendRetentionOfCurrentIndexFiles(
        superseded: Set<String>,
        now: Date
    ) throws -> (checked: Int, extended: Int)? {
        guard let renewal = RetentionRenewal(backend, now: now) else { return nil }
        let outcome = try renewal.run(try RetentionRenewal.currentIndexFiles(backend, superseded: superseded))
        return (outcome.checked, outcome.extended)
    }
}

extension RetentionRenewal {
    /// What the kept snapshots need, with the store's write times: the config (time unknown),
    /// every key, the kept snapshots and the kept packs.
    static func keptObjects(
        _ backend: Backend, snapshots: Set<SnapshotID>, packs: [PackID],
        packWritten: [String: Date]
    ) throws -> [(ObjectHandle, Date?)] {
        var out: [(ObjectHandle, Date?)] = [(.config, nil)]
        out += try backend.list(.key).map { (ObjectHandle(.key, $0.name), $0.modified) }
        out += try backend.list(.snapshot).filter { SnapshotID(hex: $0.name).map(snapshots.contains) ?? false }.map {
            (ObjectHandle(.snapshot, $0.name), $0.modified)
        }
        out += packs.map { (ObjectHandle(.pack, $0.hex), packWritten[$0.hex]) }
        return out
    }
}

extension RetentionRenewal {
    /// The index files that stay current after the prune: all listed but those it supersedes. Asked
    /// after the prune's new index is written and before the old ones go. A lost index is rebuilt from
    /// pack headers, yet an admin credential must not be able to delete it early either.
    static func currentIndexFiles(_ backend: Backend, superseded: Set<String>) throws -> [(ObjectHandle, Date?)] {
        try backend.list(.index).filter { !superseded.contains($0.name) }
            .map { (ObjectHandle(.index, $0.name), $0.modified) }
    }
}
