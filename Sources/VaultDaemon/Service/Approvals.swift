import Foundation
import VaultCore

/// The destructive API actions that can be made to wait for approvals (config `approvals`).
public enum ApprovalAction: String, Codable, Sendable, CaseIterable {
    /// A restore with mode delta or force into a non-empty directory (a live node's data).
    case restoreLive = "restore-live"
    /// Applying a policy's retention (forgetting snapshots) through the API.
    case forget
    /// Pruning the repository through the API.
    case prune
    case policyDisable = "policy-disable"
    /// Removing one of the repository's keys (a key file: whoever held only that key is locked out).
    case keyRemove = "key-remove"
}

/// `{"required": 2, "of": ["alice", "bob", "carol"], "window": "1h"}`: the action runs once
/// `required` distinct admins named in `of` (any admin when `of` is absent), never the requester,
/// approved it within `window` of the request. An action without a rule runs at once, on the
/// requester's word alone (1 of 1, as before approvals existed).
public struct ApprovalRule: Codable, Sendable {
    public var required: Int
    public var of: [String]?
    public var window: TimeSpan?

    public var windowSeconds: Double { window?.seconds ?? 3600 }

    static let knownKeys: Set<String> = ["required", "of", "window"]

    /// Problems with this rule, given the admin tokens' names.
    func problems(admins: Set<String>) -> [String] {
        var out: [String] = []
        if required < 1 { out.append("required must be at least 1") }
        if let of {
            if Set(of).count != of.count { out.append("'of' names a token twice") }
            if required > of.count { out.append("required is \(required) but 'of' names only \(of.count) token(s)") }
            for name in of where !admins.contains(name) {
                out.append("'of' names \(name), which is not an admin token")
            }
        } else if required > admins.count {
            out.append("required is \(required) but only \(admins.count) admin token(s) are configured")
        }
        if let w = window, w.seconds == nil { out.append("window '\(w)' is not a duration") }
        return out
    }
}

/// A request waiting for approvals, and what became of it. `digest` is the SHA-256 (hex) of the
/// JSON `{"action": …, "parameters": {…}}` with sorted keys: an approval names it, so an approver
/// approves exactly these parameters and nothing else.
public struct PendingRequest: Codable, Sendable {
    public struct Approval: Codable, Sendable { public var name: String; public var time: Double }
    public var id: String
    public var action: ApprovalAction
    public var parameters: [String: String]
    public var digest: String
    public var requester: String
    public var created: Double
    public var expires: Double
    public var required: Int
    /// The admins who may approve (nil: any admin), as the rule named them when it was requested.
    public var eligible: [String]?
    public var approvals: [Approval] = []
    /// pending, executed, expired.
    public var state: String = "pending"
    public var job: String?

    public static func digest(_ action: ApprovalAction, _ parameters: [String: String]) -> String {
        struct Canonical: Encodable { let action: String; let parameters: [String: String] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let bytes = (try? encoder.encode(Canonical(action: action.rawValue, parameters: parameters))) ?? Data()
        return SHA256.hash(Array(bytes)).hex
    }
}

/// The pending requests in `<state>/approvals.json`, written with write-then-rename after every
/// change, so a restart neither loses a request nor runs one twice (an executed or expired
/// request stays on record, bounded to the newest 500).
public struct ApprovalStore: Sendable {
    public let path: String
    public private(set) var requests: [String: PendingRequest] = [:]

    public init(path: String) {
        self.path = path
        if let bytes = try? Posix.readFile(path),
            let list = try? JSONDecoder().decode([PendingRequest].self, from: Data(bytes))
        {
            for r in list { requests[r.id] = r }
        }
    }

    public subscript(id: String) -> PendingRequest? {
        get { requests[id] }
        set { requests[id] = newValue }
    }

    public mutating func save() throws {
        var list = requests.values.sorted { $0.created < $1.created }
        if list.count > 500 {
            let finished = list.filter { $0.state != "pending" }.prefix(list.count - 500).map(\.id)
            for id in finished { requests[id] = nil }
            list = requests.values.sorted { $0.created < $1.created }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try Array(try encoder.encode(list)).withUnsafeBytes { try Posix.writeFileAtomically(path, $0, mode: 0o640) }
    }
}

/// The approvals' clock: the system's, moved by the number of seconds in the file
/// `$CHAINVAULT_TEST_CLOCK_FILE` when that is set, so a test expires a request by writing a
/// number instead of waiting an hour.
struct ApprovalClock: WallClock {
    let offsetFile: String?
    var now: Date {
        guard let offsetFile, let bytes = try? Posix.readFile(offsetFile),
            let offset = Double(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        else { return Date() }
        return Date().addingTimeInterval(offset)
    }
}
