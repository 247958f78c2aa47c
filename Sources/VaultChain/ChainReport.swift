/// What a chain check found: the best chain's height and tip, how far each file was verified,
/// and every problem. `valid` ignores `.info` entries.
public struct ChainReport: Codable, Sendable {
    public var profile: String
    public var height: UInt64?
    public var tipHash: String?
    /// Bytes read and checked by this run (an incremental run reads only what was appended).
    public var bytesChecked: UInt64 = 0
    public var problems: [ChainProblem] = []

    public init(profile: String) { self.profile = profile }

    public var valid: Bool { !problems.contains { $0.kind != .info } }
}
