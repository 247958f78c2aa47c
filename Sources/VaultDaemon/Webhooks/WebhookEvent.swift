import Foundation

/// What happened, as webhooks are told it. `event`: started, succeeded, failed, interrupted (a
/// job's life), late (the policy's last good backup is older than its RPO), verify_errors.
public struct WebhookEvent: Codable, Sendable, Equatable {
    public var event: String
    public var policy: String?
    /// The job's id in `/v1/jobs/{id}`, and its kind (backup, verify, drill, prune, restore).
    public var job: String?
    public var kind: String?
    public var outcome: String?
    /// RFC 3339, UTC.
    public var time: String
    public var host: String
    public var error: String?
    public var snapshot: String?
    public var seconds: Double?

    /// The generic JSON body.
    func json() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? Array(encoder.encode(self))) ?? Array("{}".utf8)
    }

    /// healthchecks.io's convention for a job: `/start` as it starts, the bare URL on success,
    /// `/fail` on failure (a verify that found errors fails the check too). nil: no ping.
    func healthchecksSuffix() -> String? {
        switch (kind, event) {
        case ("backup", "started"): return "/start"
        case ("backup", "succeeded"): return ""
        case ("backup", "failed"), ("verify", "verify_errors"): return "/fail"
        default: return nil
        }
    }
}
