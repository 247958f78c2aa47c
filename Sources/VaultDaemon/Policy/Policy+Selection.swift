import Foundation
import VaultRepository

extension Policy {
    /// The snapshots that are this policy's: those it made (FORMAT.md §8, "Selection"), this
    /// host's first. `latest` for the API's restores and for drills is the newest of them, never
    /// another policy's snapshot of the same repository.
    public var snapshotSelection: SnapshotSelection {
        SnapshotSelection(filter: SnapshotFilter(policy: name), preferredHost: ProcessInfo.processInfo.hostName)
    }
}
