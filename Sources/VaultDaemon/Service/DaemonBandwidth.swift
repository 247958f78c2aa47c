import Synchronization
import VaultCore
import VaultStorage

/// The config's `bandwidth` object: limits in KiB/s for the repository and, under `copyTargets`,
/// for each policy's `copyTo` target (keyed by the same string):
/// `{"limitUpload": 2048, "limitDownload": 8192, "copyTargets": {"s3:…": {"limitUpload": 512}}}`.
public struct BandwidthConfig: Codable, Sendable, Equatable {
    public struct Limits: Codable, Sendable, Equatable {
        public var limitUpload: Double?
        public var limitDownload: Double?
    }

    public var limitUpload: Double?
    public var limitDownload: Double?
    public var copyTargets: [String: Limits]?

    static let knownKeys: Set<String> = ["limitUpload", "limitDownload", "copyTargets"]
    static let limitKeys: Set<String> = ["limitUpload", "limitDownload"]

    /// Unknown keys inside `copyTargets` entries and limits that are not positive, as messages.
    func problems() -> [String] {
        var found: [String] = []
        func check(_ field: String, _ value: Double?) {
            if let v = value, !(v.isFinite && v > 0) {
                found.append("bandwidth.\(field): \(v) is not a positive rate in KiB/s")
            }
        }
        check("limitUpload", limitUpload)
        check("limitDownload", limitDownload)
        for (target, l) in (copyTargets ?? [:]).sorted(by: { $0.key < $1.key }) {
            check("copyTargets[\(target)].limitUpload", l.limitUpload)
            check("copyTargets[\(target)].limitDownload", l.limitDownload)
        }
        return found
    }

    static func unknownTargetKeys(_ object: [String: Any]) -> [String] {
        guard let targets = (object["bandwidth"] as? [String: Any])?["copyTargets"] as? [String: Any] else { return [] }
        return targets.keys.sorted().flatMap { target in
            ((targets[target] as? [String: Any])?.keys.sorted() ?? []).filter { !limitKeys.contains($0) }.map {
                "bandwidth.copyTargets[\(target)].\($0): unknown field; expected one of: limitDownload, limitUpload"
            }
        }
    }
}

/// The daemon's token buckets, one pair per repository location and one per policy that sets
/// its own limits, kept across reloads so every job on a repository (or of a policy) shares one
/// rate; a reload changes a rate in place (a transfer under way continues at the new one) and
/// removes a limit the new config or policy no longer sets.
final class DaemonBandwidth: Sendable {
    /// Whose limit a pair of buckets is: a repository location's or a policy's.
    enum Owner: Hashable {
        case location(String)
        case policy(String)
    }

    private let buckets = Mutex<[Owner: BandwidthLimits]>([:])

    /// `repository`: the config's repository location, which the top-level limits apply to;
    /// `policies`: each one's `limitUpload`/`limitDownload`, for its own jobs.
    func configure(_ config: BandwidthConfig?, repository: String, policies: [String: Policy] = [:]) {
        var wanted: [Owner: (Double?, Double?)] = [.location(repository): (config?.limitUpload, config?.limitDownload)]
        for (target, l) in config?.copyTargets ?? [:] { wanted[.location(target)] = (l.limitUpload, l.limitDownload) }
        for (name, p) in policies { wanted[.policy(name)] = (p.limitUpload, p.limitDownload) }
        func bucket(_ old: TokenBucket?, _ kib: Double?) -> TokenBucket? {
            guard let kib else { return nil }
            guard let old else { return TokenBucket(bytesPerSecond: kib * 1024) }
            old.setRate(kib * 1024)
            return old
        }
        buckets.withLock { all in
            var next: [Owner: BandwidthLimits] = [:]
            for (owner, (up, down)) in wanted {
                let limits = BandwidthLimits(
                    upload: bucket(all[owner]?.uploads.first, up),
                    download: bucket(all[owner]?.downloads.first, down))
                if !limits.isEmpty { next[owner] = limits }
            }
            all = next
        }
    }

    /// The limits of a transfer to or from `location`: its own and, for a policy's job, the
    /// policy's too (both apply: the lower rate wins); their waits end when `cancellation` is
    /// cancelled (SIGTERM stops the job within seconds, whatever a limit still owes).
    func limits(_ location: String, policy: String? = nil, cancellation: Cancellation? = nil) -> BandwidthLimits {
        buckets.withLock { all in
            var limits = all[.location(location)] ?? .none
            if let policy, let own = all[.policy(policy)] { limits = limits.combined(with: own) }
            return limits.cancelled(by: cancellation)
        }
    }
}
