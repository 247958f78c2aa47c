/// Which snapshots an operation considers (`--host`, `--source`, `--policy`, `--tag`, or a daemon
/// policy): every condition that is set must hold.
public struct SnapshotFilter: Sendable, Equatable {
    public var host: String?
    /// An absolute path, compared with the snapshot's `source` (trailing slashes aside).
    public var source: String?
    public var policy: String?
    /// Every tag listed must be on the snapshot.
    public var tags: [String]

    public init(host: String? = nil, source: String? = nil, policy: String? = nil, tags: [String] = []) {
        self.host = host; self.source = source; self.policy = policy; self.tags = tags
    }

    public var isEmpty: Bool { host == nil && source == nil && policy == nil && tags.isEmpty }

    public func matches(_ s: Snapshot) -> Bool {
        (host == nil || s.hostname == host) && (source.map { Self.sameSource($0, s.source) } ?? true)
            && (policy == nil || s.policy == policy) && tags.allSatisfy(s.tags.contains)
    }

    /// Paths as recorded are absolute and normalised; an operator may add a trailing slash.
    static func sameSource(_ a: String, _ b: String) -> Bool { trimmed(a) == trimmed(b) }

    static func trimmed(_ path: String) -> Substring {
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
        return p
    }

    /// " (host h, source /x, policy p, tags a,b)", or "" with no condition: for messages.
    public var described: String {
        let parts = [
            host.map { "host \($0)" }, source.map { "source \($0)" }, policy.map { "policy \($0)" },
            tags.isEmpty ? nil : "tags \(tags.joined(separator: ","))"
        ].compactMap { $0 }
        return parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")"
    }
}
