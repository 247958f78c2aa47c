import Foundation
import VaultCore

/// A request to start or stop a node's systemd unit, as the unprivileged daemon's hook sends it to
/// the root helper (`chainvault-hook.socket`): one line, `stop bitcoind.service`. The helper runs
/// it only when a policy in the configured policies directory (root's, not the daemon's) names
/// exactly that verb and unit as its `chainvault node …` hook, so the daemon can stop and start
/// the nodes its policies name and nothing else.
public struct NodeUnitRequest: Sendable, Hashable {
    public enum Verb: String, Sendable, CaseIterable { case start, stop }
    public let verb: Verb
    public let unit: String

    /// The socket the helper listens on (chainvault-hook.socket).
    public static let defaultSocket = "/run/chainvault-hook.sock"
    /// A request line is short; anything longer is refused without reading on.
    public static let maxLine = 256

    public init(verb: Verb, unit: String) throws {
        // A unit name as systemd spells it: no option, no path, no glob, no whitespace.
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_.@\\")
        guard !unit.isEmpty, unit.count <= 200, !unit.hasPrefix("-"), unit.allSatisfy({ allowed.contains($0) }) else {
            throw VaultError(
                .usage, "'\(unit)' is not a unit name", hint: "name the node's unit, e.g. bitcoind.service")
        }
        self.verb = verb
        self.unit = unit.contains(".") ? unit : unit + ".service"
    }

    public init(line: String) throws {
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2, let verb = Verb(rawValue: String(parts[0])) else {
            throw VaultError(.usage, "node unit request '\(line.prefix(64))' is not 'start UNIT' or 'stop UNIT'")
        }
        try self.init(verb: verb, unit: String(parts[1]))
    }

    public var line: String { "\(verb.rawValue) \(unit)" }

    /// The requests a hook may make, from argument vectors such as
    /// `["/usr/bin/chainvault", "node", "stop", "bitcoind"]` (any path ending in `chainvault`).
    public static func named(by hook: [String]) -> NodeUnitRequest? {
        guard hook.count == 4, hook[0] == "chainvault" || hook[0].hasSuffix("/chainvault"), hook[1] == "node",
            let verb = Verb(rawValue: hook[2])
        else { return nil }
        return try? NodeUnitRequest(verb: verb, unit: hook[3])
    }

    /// Every request the policies' hooks name.
    public static func permitted(by policies: [Policy]) -> Set<NodeUnitRequest> {
        var out = Set<NodeUnitRequest>()
        for p in policies {
            for hook in [p.consistency.pre, p.consistency.post].compactMap({ $0 }) {
                if let r = named(by: hook) { out.insert(r) }
            }
        }
        return out
    }
}
