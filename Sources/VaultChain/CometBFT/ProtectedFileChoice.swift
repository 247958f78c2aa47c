/// What restore does with a protected file that exists both live and in the snapshot.
public enum ProtectedFileChoice: Equatable, Sendable {
    case keepLive
    case takeSnapshot
}

extension ValidatorSigningState {
    /// The decision for `data/priv_validator_state.json`: keep whichever signing state is higher,
    /// so that a restore never rolls a validator back (the state it would sign again from is the
    /// one that got validators slashed). When either side does not parse, the live file stays
    /// (it is what the node trusts now) and the warning says why; equal states keep the live one.
    public static func keepHigher(live: [UInt8], snapshot: [UInt8]) -> (choice: ProtectedFileChoice, warning: String?) {
        let liveState: ValidatorSigningState
        do { liveState = try ValidatorSigningState(json: live) } catch {
            return (.keepLive, "live validator state does not parse (\(error)): kept it, did not take the snapshot's")
        }
        let snapshotState: ValidatorSigningState
        do { snapshotState = try ValidatorSigningState(json: snapshot) } catch {
            return (.keepLive, "snapshot's validator state does not parse (\(error)): kept the live one (\(liveState))")
        }
        return snapshotState > liveState ? (.takeSnapshot, nil) : (.keepLive, nil)
    }

    /// The chooser restore calls for each protected file: only the validator state is compared;
    /// any other protected file keeps its live bytes, as `--protect` always did.
    public static func choose(relativePath: String, live: [UInt8], snapshot: [UInt8])
        -> (choice: ProtectedFileChoice, warning: String?)
    {
        let path = CometBFTProfile.statePath
        guard relativePath == path || relativePath.hasSuffix("/" + path) else {
            return (.keepLive, nil)
        }
        return keepHigher(live: live, snapshot: snapshot)
    }
}
