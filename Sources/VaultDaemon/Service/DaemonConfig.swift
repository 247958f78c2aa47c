import Foundation
import VaultCore

/// /etc/chainvault/chainvault.json. Paths may be left out where systemd provides them:
/// the key as the credential `chainvault.key`, the API token as `api.token`, the state directory
/// as $STATE_DIRECTORY.
public struct DaemonConfig: Codable, Sendable {
    public var repository: String
    public var keyFile: String?
    public var passwordFile: String?
    public var policies: String
    public var listen: String?
    public var apiTokenFile: String?
    public var stateDirectory: String?
    /// How often to run prune over the whole repository ("24h").
    public var pruneEvery: TimeSpan?
    /// Directories under which API restores may write besides each policy's source (RestoreTarget).
    public var restoreRoots: [String]?
    /// The node never deletes: retention and prune are skipped (they run on the pruning host).
    public var appendOnly: Bool?
    /// Named API tokens, each with a role (APIAccess).
    public var tokens: [APITokenConfig]?
    /// Per destructive action ("restore-live", "forget", "prune", "policy-disable"), the approvals it waits for.
    public var approvals: [String: ApprovalRule]?
    /// The background readiness probe: how often it looks at the repository ("15s") and how long
    /// one look may take ("10s").
    public var readinessProbeEvery: TimeSpan?
    public var readinessProbeTimeout: TimeSpan?
    /// Push notifications (WebhookSpec).
    public var webhooks: [WebhookSpec]?
    /// Bandwidth limits for the repository and copy targets (BandwidthConfig).
    public var bandwidth: BandwidthConfig?

    static let knownKeys: [String: Set<String>] = [
        "": [
            "repository", "keyFile", "passwordFile", "policies", "listen", "apiTokenFile", "stateDirectory",
            "pruneEvery",
            "restoreRoots", "appendOnly", "tokens", "approvals", "readinessProbeEvery", "readinessProbeTimeout",
            "webhooks",
            "bandwidth"
        ],
        "approvals": Set(ApprovalAction.allCases.map(\.rawValue)),
        "bandwidth": BandwidthConfig.knownKeys
    ]
    .merging(ApprovalAction.allCases.map { ("approvals." + $0.rawValue, ApprovalRule.knownKeys) }) { a, _ in a }

    public static func load(_ path: String) throws -> DaemonConfig {
        let bytes: [UInt8]
        do { bytes = try Posix.readFile(path, code: .usage) } catch let e as VaultError {
            throw VaultError(.usage, "cannot read config \(path)", cause: e.cause, hint: "pass --config FILE")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            let p = JSONProblems.syntaxProblem(bytes, text)
            throw VaultError(.usage, "config \(path):\(p.line ?? 1): \(p.message)")
        }
        var problems = JSONProblems.unknownKeys(object, path: "", text: text, known: knownKeys)
        var config: DaemonConfig?
        do { config = try JSONDecoder().decode(DaemonConfig.self, from: Data(bytes)) } catch let e as DecodingError {
            problems.append(JSONProblems.describe(e, text: text))
        }
        if let c = config {
            if let l = c.listen, (try? parseListen(l)) == nil {
                problems.append(
                    PolicyProblem(
                        field: "listen", message: "'\(l)' is not HOST:PORT with an IPv4 host",
                        line: JSONProblems.line(of: "listen", in: text)))
            }
            if let p = c.pruneEvery, p.seconds == nil {
                problems.append(
                    PolicyProblem(
                        field: "pruneEvery", message: "'\(p)' is not a duration",
                        line: JSONProblems.line(of: "pruneEvery", in: text)))
            }
            for (field, value) in [
                ("readinessProbeEvery", c.readinessProbeEvery), ("readinessProbeTimeout", c.readinessProbeTimeout)
            ] {
                if let v = value, v.seconds == nil {
                    problems.append(
                        PolicyProblem(
                            field: field, message: "'\(v)' is not a duration",
                            line: JSONProblems.line(of: field, in: text)))
                }
            }
        }
        for problem in BandwidthConfig.unknownTargetKeys(object) + (config?.bandwidth?.problems() ?? []) {
            problems.append(
                PolicyProblem(field: "", message: problem, line: JSONProblems.line(of: "bandwidth", in: text)))
        }
        for problem in WebhookSpec.problems(object) {
            problems.append(
                PolicyProblem(field: "", message: problem, line: JSONProblems.line(of: "webhooks", in: text)))
        }
        guard let c = config, problems.isEmpty else {
            throw VaultError(
                .usage,
                "config \(path) is not valid:\n  "
                    + problems.map {
                        "\(path):\($0.line ?? 1): \($0.field.isEmpty ? "" : $0.field + ": ")\($0.message)"
                    }.joined(separator: "\n  "),
                hint: "fix the fields named above")
        }
        return c
    }

    public static func parseListen(_ text: String) throws -> (String, UInt16) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]), parts[0].split(separator: ".").count == 4 else {
            throw VaultError(.usage, "listen address '\(text)' is not HOST:PORT")
        }
        return (String(parts[0]), port)
    }

    public var listenAddress: (String, UInt16) {
        (try? Self.parseListen(listen ?? "127.0.0.1:9797")) ?? ("127.0.0.1", 9797)
    }

    public func stateDirectoryPath(environment: [String: String]) -> String {
        stateDirectory ?? environment["STATE_DIRECTORY"]?.split(separator: ":").first.map(String.init)
            ?? "/var/lib/chainvault"
    }
}
