/// The chain check of a snapshot's data (FORMAT.md, snapshots): which profile checked it, the best
/// chain's height and tip, and whether it was valid. A snapshot whose check failed under a policy
/// that requires it (`required`) is kept but is never `latest` and restore warns before using it.
public struct ChainCheck: Codable, Sendable, Equatable {
    public var profile: String
    public var height: UInt64?
    public var tipHash: String?
    public var valid: Bool
    /// Problems found (not counting information).
    public var problems: Int
    /// The first few problems as operator-facing lines (at most 10).
    public var firstProblems: [String]
    /// Bytes the check read in this backup (an incremental check reads only what was appended).
    public var bytesChecked: UInt64
    /// True when the policy requires a valid chain (`chainCheck: required`).
    public var required: Bool

    public init(
        profile: String, height: UInt64?, tipHash: String?, valid: Bool, problems: Int,
        firstProblems: [String], bytesChecked: UInt64, required: Bool
    ) {
        self.profile = profile; self.height = height; self.tipHash = tipHash; self.valid = valid
        self.problems = problems; self.firstProblems = firstProblems; self.bytesChecked = bytesChecked
        self.required = required
    }
}

extension Snapshot {
    /// True when a required chain check failed: kept and listed, but not restorable by default.
    public var chainCheckFailed: Bool { chainCheck.map { !$0.valid && $0.required } ?? false }
}
