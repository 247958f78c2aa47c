/// What a job does and to what: the key of the scheduler, the queue and a job's attempts. Text
/// (`backup:<policy>`, `prune`, `restore:<request>`) exists only where a key goes out or comes
/// back: the state file (`runningJob`, `attempts`), the API's `scheduled` and `queued`, logs and
/// the audit log's subject.
public enum JobKind: Hashable, Sendable, CustomStringConvertible {
    case backup(policy: String)
    case verify(policy: String)
    case drill(policy: String)
    /// Retention through the API (after its approvals).
    case forget(policy: String)
    /// One restore request; its policy is in the job's record, not in the key.
    case restore(request: String)
    case prune

    /// The job's action: the audit log's action, the job record's and the webhooks' `kind`.
    public var action: String {
        switch self {
        case .backup: return "backup"
        case .verify: return "verify"
        case .drill: return "drill"
        case .forget: return "forget"
        case .restore: return "restore"
        case .prune: return "prune"
        }
    }

    /// The policy the key names (nil for prune and for a restore, whose key names its request).
    public var policy: String? {
        switch self {
        case .backup(let p), .verify(let p), .drill(let p), .forget(let p): return p
        case .restore, .prune: return nil
        }
    }

    /// `action:argument`, or `prune`: the form the state file and the API have always used.
    public var description: String {
        switch self {
        case .backup(let p), .verify(let p), .drill(let p), .forget(let p): return "\(action):\(p)"
        case .restore(let request): return "restore:\(request)"
        case .prune: return "prune"
        }
    }

    /// A key as `description` writes it; nil for anything else (an edited or newer state file).
    public init?(_ text: String) {
        if text == "prune" { self = .prune; return }
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let argument = String(text[text.index(after: colon)...])
        guard !argument.isEmpty else { return nil }
        switch text[..<colon] {
        case "backup": self = .backup(policy: argument)
        case "verify": self = .verify(policy: argument)
        case "drill": self = .drill(policy: argument)
        case "forget": self = .forget(policy: argument)
        case "restore": self = .restore(request: argument)
        default: return nil
        }
    }
}

/// A job's life: queued, running, then one of the three outcomes. The raw values are what the
/// API, the audit log, the webhooks and the state file say.
public enum JobState: String, Codable, Sendable {
    case queued, running, succeeded, failed, interrupted

    /// Waiting or running: a second request for the same key gets this job.
    public var isActive: Bool { self == .queued || self == .running }
}
