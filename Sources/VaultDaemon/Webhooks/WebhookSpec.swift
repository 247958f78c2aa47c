import Foundation
import VaultCore

/// One entry of the config's `webhooks`: where to send which events. The URL is a secret (a
/// healthchecks.io ping URL is enough to forge pings, a chat webhook to post): it comes from a
/// credential (`urlCredential`, a file in `$CREDENTIALS_DIRECTORY`) or a file (`urlFile`), or,
/// for a URL that holds no secret, `url`. It is never logged; logs name the webhook.
public struct WebhookSpec: Codable, Sendable {
    public var name: String
    /// `json` (a POST of the event as JSON) or `healthchecks` (healthchecks.io's ping URLs).
    public var kind: String
    public var url: String?
    public var urlFile: String?
    public var urlCredential: String?
    /// For `json`: which events (default: succeeded, failed, late, verify_errors).
    public var events: [String]?
    /// Only these policies' events (default: all).
    public var policies: [String]?
    /// Per attempt, without progress ("10s").
    public var timeout: TimeSpan?
    /// Attempts after the first on a network error, 429 or 5xx (default 3), 1 s, 2 s, 4 s … apart.
    public var retries: Int?

    static let knownKeys: Set<String> = [
        "name", "kind", "url", "urlFile", "urlCredential", "events", "policies", "timeout", "retries"
    ]
    public static let allEvents: Set<String> = [
        "started", "succeeded", "failed", "interrupted", "late", "verify_errors"
    ]
    static let defaultEvents: Set<String> = ["succeeded", "failed", "late", "verify_errors"]

    /// Problems of every entry of `webhooks` in a config object, for the config's error list.
    static func problems(_ object: [String: Any]) -> [String] {
        guard let list = object["webhooks"] else { return [] }
        guard let entries = list as? [[String: Any]] else { return ["webhooks: expected a list of objects"] }
        var problems: [String] = []
        var names = Set<String>()
        for (i, entry) in entries.enumerated() {
            let at = "webhooks[\(i)]"
            for key in entry.keys.sorted() where !knownKeys.contains(key) {
                problems.append(
                    "\(at).\(key): unknown field; expected one of: \(knownKeys.sorted().joined(separator: ", "))")
            }
            if let name = entry["name"] as? String, !names.insert(name).inserted {
                problems.append("\(at).name: '\(name)' is used twice")
            }
            if let kind = entry["kind"] as? String, kind != "json", kind != "healthchecks" {
                problems.append("\(at).kind: '\(kind)' is neither json nor healthchecks")
            }
            let sources = ["url", "urlFile", "urlCredential"].filter { entry[$0] != nil }
            if sources.count != 1 { problems.append("\(at): give exactly one of url, urlFile, urlCredential") }
            for event in (entry["events"] as? [String]) ?? [] where !allEvents.contains(event) {
                problems.append(
                    "\(at).events: unknown event '\(event)'; expected one of: \(allEvents.sorted().joined(separator: ", "))"
                )
            }
            if let t = entry["timeout"] as? String, TimeSpan(t).seconds == nil {
                problems.append("\(at).timeout: '\(t)' is not a duration")
            }
        }
        return problems
    }

    /// The URL, read now (at start and on reload, so a missing secret stops the config loading).
    func resolveURL(environment: [String: String]) throws -> URL {
        var text: String
        if let url {
            text = url
        } else {
            let path: String
            if let file = urlFile {
                path = file
            } else {
                guard let dir = environment["CREDENTIALS_DIRECTORY"], let credential = urlCredential else {
                    throw VaultError(
                        .usage,
                        "webhook \(name) names the credential \(urlCredential ?? "?") but no credentials are passed",
                        hint: "add LoadCredential=\(urlCredential ?? "NAME"):FILE to the unit, or use urlFile")
                }
                path = dir + "/" + credential
            }
            let bytes: [UInt8]
            do { bytes = try Posix.readFile(path, code: .usage) } catch let e as VaultError {
                throw VaultError(
                    .usage, "cannot read the URL of webhook \(name) from \(path)", cause: e.cause,
                    hint: "the file holds the URL on one line")
            }
            text = String(decoding: bytes, as: UTF8.self)
        }
        text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let parsed = URL(string: text), let scheme = parsed.scheme, scheme == "http" || scheme == "https",
            parsed.host != nil
        else {
            // The text is not repeated: it may be a mistyped secret.
            throw VaultError(
                .usage, "the URL of webhook \(name) is not an http:// or https:// URL",
                hint: "check the file or credential")
        }
        return parsed
    }

    var wantedEvents: Set<String> {
        kind == "healthchecks"
            ? ["started", "succeeded", "failed", "verify_errors"] : events.map(Set.init) ?? Self.defaultEvents
    }
}
