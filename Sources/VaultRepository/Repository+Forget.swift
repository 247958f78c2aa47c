import Foundation
import VaultCore
@_spi(Repository) import VaultStorage

extension Repository {
    /// Removes snapshots: their files go, their data stays until a prune. The one way snapshots
    /// are deleted (the CLI's forget, the daemon's retention, a two-phase backup's live pass).
    ///
    /// The caller holds the exclusive lock (`lock(exclusive: true, command:)`), so no prune is
    /// marking meanwhile; the one exception is a snapshot this process wrote moments ago and only
    /// used as a parent (a two-phase backup's live pass). Every lock this process took is
    /// confirmed before the first deletion. `memory`: this client's snapshot memory (FORMAT.md
    /// §8), which then records the removal as its own forget, not a rollback; failing to update
    /// it only weakens rollback detection, so it is not an error. `removing` is told before each.
    public func forget(
        _ snapshots: [SnapshotRecord], memory: String? = nil,
        removing: (SnapshotRecord) -> Void = { _ in }
    ) throws {
        guard !snapshots.isEmpty else { return }
        try confirmLocksHeld()
        for s in snapshots {
            removing(s)
            try backend.delete(ObjectHandle(.snapshot, s.id.hex))
        }
        guard let memory, let known = try? SnapshotMemory.load(memory),
            let remaining = try? listSnapshotsReportingDamage().0
        else { return }
        try? known.forgetting(snapshots, remaining: remaining).save(memory)
    }
}
