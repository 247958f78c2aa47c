import VaultChain
import VaultCore
import VaultRepository

public struct RestoreOptions: Sendable {
    public var snapshot: String
    public var target: String
    /// Restore only this path of the snapshot, into the same place under the target.
    public var subpath: String?
    /// Reuse the live target's bytes where they already match. A non-empty directory target is
    /// always restored in place (FORMAT.md, "In-place restore"); this also allows a non-empty
    /// single-file target.
    public var delta = false
    /// Replace a non-empty target with a fully staged copy (kept as `<target>.pre-restore-<time>`).
    public var force = false
    /// In-place restores: hash every live file, not only those whose size or mtime differ.
    public var verifyAll = false
    /// Refuse a non-empty target instead of restoring in place (the API's mode "new": overwriting
    /// a live directory must be asked for by name, as "delta" or "force").
    public var requireEmpty = false
    /// Undo an interrupted in-place restore of the target instead of completing it.
    public var rollback = false
    /// Paths (globs, relative to the snapshot root) never rolled back: when the target has a live
    /// copy, the restored tree gets the live copy, not the snapshot's older one. A validator's
    /// signing state only moves forward; an older one lets it sign twice.
    public var protect: [String] = []
    /// Paths (backup's `--exclude` globs, relative to the snapshot root) the restore leaves alone:
    /// not written from the snapshot, and a live copy in the target is neither replaced nor moved
    /// aside as an entry the snapshot lacks.
    public var excludes: [String] = []
    /// Restore protected paths from the snapshot even when a live copy exists.
    public var overwriteProtected = false
    /// Decides between a protected file's live copy and the snapshot's (both at most 1 MiB) when both
    /// exist; nil keeps the live copy. By default the chains' rules: CometBFT's validator state keeps
    /// the higher (height, round, step) of the two; any other protected file keeps its live copy.
    public var protectedChooser:
        (@Sendable (_ relativePath: String, _ live: [UInt8], _ snapshot: [UInt8]) -> ProtectedChoice)? =
            RestoreOptions.chainRules

    @Sendable public static func chainRules(_ relativePath: String, _ live: [UInt8], _ snapshot: [UInt8])
        -> ProtectedChoice
    {
        ValidatorSigningState.choose(relativePath: relativePath, live: live, snapshot: snapshot).choice == .takeSnapshot
            ? .takeSnapshot : .keepLive
    }

    /// Paths every restore protects whether or not it is asked to (`--overwrite-protected` aside):
    /// a validator's signing state. With `chainRules`, the snapshot's copy is still taken when it
    /// is the higher one, so protecting it never loses a newer state.
    public static let alwaysProtected = [CometBFTProfile.statePath]
    /// Directories a target must not be inside of or contain (the repository, the state directory).
    public var refusedTargets: [String] = []
    public var workers: Int = max(2, Parallel.cores)

    public init(snapshot: String, target: String) { self.snapshot = snapshot; self.target = target }
}

public struct RestoreResult: Sendable {
    public let snapshotID: SnapshotID
    public let destination: String
    /// "staged" (a full copy swapped in), "in-place" or "in-place-full" (`--force` on a mount point).
    public internal(set) var mode = "staged"
    /// Where the previous content of the destination now is, if there was any (in place: only
    /// what was replaced or removed).
    public internal(set) var previous: String?
    public internal(set) var removedStaging: [String] = []
    /// Previous trees found under a staging name (a crash between the swap and its rename), now
    /// kept under a `.pre-restore-` name.
    public internal(set) var keptFromInterruptedSwap: [String] = []
    /// The snapshot of an interrupted in-place restore that this run completed first.
    public internal(set) var completedJournal: String?
    /// The unfinished build (`<target>/.chainvault-restore/new`) of an in-place restore stopped
    /// before its journal was written, removed by this run (it had changed nothing live).
    public internal(set) var clearedUnfinished: String?
    /// The snapshot of an interrupted in-place restore that `--rollback` undid.
    public internal(set) var rolledBack: String?
    /// What `--rollback` did with an interrupted staged swap's leftovers, a sentence each.
    public internal(set) var swapRolledBack: [String] = []
    public internal(set) var files: UInt64 = 0
    public internal(set) var directories: UInt64 = 0
    public internal(set) var bytesFetched: UInt64 = 0
    public internal(set) var bytesReused: UInt64 = 0
    /// Bytes of file content written (in place: the files rebuilt; the extra disk used).
    public internal(set) var bytesWritten: UInt64 = 0
    /// In place: files left as they were, files read to compare them, entries replaced or removed.
    public internal(set) var filesUnchanged: UInt64 = 0
    public internal(set) var filesHashed: UInt64 = 0
    public internal(set) var entriesReplaced: UInt64 = 0
    public internal(set) var durationSeconds: Double = 0
    /// Protected files whose live copy was kept.
    public internal(set) var protectedKept: [String] = []
    /// Protected files restored from the snapshot (no live copy, or --overwrite-protected).
    public internal(set) var protectedFromSnapshot: [String] = []
    /// Those of `protectedFromSnapshot` whose snapshot copy was taken because its state is higher
    /// than the live copy's (a validator's signing state moved forward: safe, reported as such).
    public internal(set) var protectedAdvanced: [String] = []
    /// Metadata that could not be set (an extended attribute namespace this user may not write).
    public internal(set) var warnings: [String] = []

    init(snapshotID: SnapshotID, destination: String) { self.snapshotID = snapshotID; self.destination = destination }
}
