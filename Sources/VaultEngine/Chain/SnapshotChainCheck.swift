import Dispatch
import VaultChain
import VaultCore
import VaultRepository

/// `verify --chain`: the chain check of a stored snapshot, streamed from the repository through a
/// `SnapshotChainSource` (every chunk checked against its id), without restoring it. The profile is
/// the one asked for, else the one the snapshot recorded, else the one its layout fits. Always a
/// full check: a snapshot has no earlier state to trust.
public enum SnapshotChainCheck {
    public struct Outcome: Encodable, Sendable {
        public var snapshot: SnapshotID
        /// nil when no profile applies (`--chain none`, or nothing recognises the layout).
        public var report: ChainReport?
        public var bytesFetched: UInt64
        public var seconds: Double
    }

    /// `profileName`: "none", a profile's name, or nil (the recorded one, else detection).
    /// The index must be loaded.
    public static func run(_ repository: Repository, _ record: SnapshotRecord, profileName: String?) throws -> Outcome {
        let started = DispatchTime.now().uptimeNanoseconds
        func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }
        let rootID = record.snapshot.tree
        let root = try repository.loadTree(rootID, codec: repository.makeCodec())
        let source = SnapshotChainSource(repository: repository, root: root, snapshot: record.shortID)
        let name = profileName ?? record.snapshot.chainCheck?.profile
        guard let profile = try ChainCheckRunner.profile(named: name, for: source) else {
            return Outcome(snapshot: record.id, report: nil, bytesFetched: 0, seconds: seconds())
        }
        var state = ChainVerifyState(profile: profile.name)
        let report = try profile.verify(source, state: &state)
        return Outcome(
            snapshot: record.id, report: report, bytesFetched: source.bytesFetched,
            seconds: seconds())
    }
}
