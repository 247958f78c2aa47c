import Foundation
import VaultCore
import VaultRepository

/// What a named API token may do. A route names the role it needs; `admin` may do everything,
/// `monitor` routes (status, jobs) are open to every role, the others only to their own role.
public enum APIRole: String, Codable, Sendable, CaseIterable {
    case monitor
    case `operator`
    case restorer
    case admin

    public func permits(_ required: APIRole) -> Bool {
        self == .admin || self == required || required == .monitor
    }
}

/// The caller a request was authenticated as: the token's name (what the audit log records,
/// never the token) and its role.
public struct APICaller: Sendable, Equatable {
    public let name: String
    public let role: APIRole
    /// The audit log's actor for this caller's requests.
    public var actor: String { "api:\(name)" }
}

/// The configured tokens, kept only as SHA-256 digests: a memory dump or a core file shows no
/// token. A presented token is hashed and compared with every digest in constant time (all of
/// them, whichever matches), so neither the position of a difference nor which token matched
/// shows in the time taken; all digests are 32 bytes, so not even the length leaks.
public struct APITokens: Sendable {
    struct Entry: Sendable { let name: String; let role: APIRole; let digest: [UInt8] }
    let entries: [Entry]

    public var isEmpty: Bool { entries.isEmpty }
    public var names: [String] { entries.map(\.name) }

    init(_ entries: [Entry]) { self.entries = entries }

    static func digest(_ token: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        SHA256.hash(token).append(to: &out)
        return out
    }

    /// The caller whose token this is, or nil.
    public func authenticate(_ presented: [UInt8]) -> APICaller? {
        var comparisons = 0
        return authenticate(presented, comparisons: &comparisons)
    }

    /// `comparisons`: how many digests were compared (tests check that none is skipped). Counted
    /// per call: a process-wide "last count" (before Swift 6 mode) was written by every thread
    /// that authenticated, so a test could read another request's count.
    func authenticate(_ presented: [UInt8], comparisons: inout Int) -> APICaller? {
        let d = Self.digest(presented)
        var found: Entry?
        for e in entries {
            comparisons += 1
            if constantTimeEqual(d, e.digest), found == nil { found = e }
        }
        return found.map { APICaller(name: $0.name, role: $0.role) }
    }

    /// Tokens from the config's `tokens` (each a file, or a systemd credential by name), plus the
    /// old single token (`apiTokenFile`, or the credential `api.token`) as the admin token named
    /// `admin`, so set-ups from before roles keep working. Each file passes the key files' checks
    /// (mode 0600 or stricter, owned by this user or root, at least 32 bytes).
    public static func load(_ config: DaemonConfig, _ env: [String: String]) throws -> APITokens {
        var entries: [Entry] = []
        func add(_ name: String, _ role: APIRole, _ path: String) throws {
            guard entries.allSatisfy({ $0.name != name }) else {
                throw VaultError(
                    .usage, "two API tokens are named \(name)", hint: "give every token in 'tokens' its own name")
            }
            guard case .keyFile(let secret) = try Credential.keyFile(path) else { return }
            entries.append(Entry(name: name, role: role, digest: digest(secret.copyBytes())))
        }
        let credentials = env["CREDENTIALS_DIRECTORY"]
        let legacy = config.apiTokenFile ?? credentials.map { $0 + "/api.token" }
        if let legacy, (try? Posix.lstat(legacy)) != nil { try add("admin", .admin, legacy) }
        for t in config.tokens ?? [] {
            if let file = t.file {
                try add(t.name, t.role, file)
            } else if let credential = t.credential {
                guard let dir = credentials else {
                    throw VaultError(
                        .usage, "API token \(t.name) names the credential \(credential), but no credentials are loaded",
                        hint:
                            "add LoadCredential=\(credential):/etc/chainvault/tokens/\(t.name) to the unit, or give a file"
                    )
                }
                try add(t.name, t.role, dir + "/" + credential)
            } else {
                throw VaultError(
                    .usage, "API token \(t.name) names neither a file nor a credential",
                    hint: "set \"file\" or \"credential\"")
            }
        }
        return APITokens(entries)
    }
}

/// One entry of the config's `tokens`.
public struct APITokenConfig: Codable, Sendable {
    public var name: String
    public var role: APIRole
    public var file: String?
    public var credential: String?
}
