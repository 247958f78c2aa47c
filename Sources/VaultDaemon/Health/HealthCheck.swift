import Foundation

/// The Nagios/Icinga check behind `chainvault health`: the daemon's `/v1/status` judged against
/// warning and critical ages. Pure (no I/O), so every rule is unit-tested; the command only
/// fetches the status and prints the result as a plugin line or as JSON.
public struct HealthCheck: Sendable {
    /// The part of `/v1/status` the check reads.
    public struct Status: Decodable, Sendable {
        public struct Policy: Decodable, Sendable {
            public let name: String
            public let ageSeconds: Double?
            public let rpoSeconds: Double
            public let lastOutcome: String?
            public let lastVerifyErrors: Int
            public let lastError: String?
        }
        public let ready: Bool
        public let policies: [Policy]
    }

    /// Nagios plugin states; the raw value is the exit code.
    public enum State: Int32, Sendable, Comparable {
        case ok = 0, warning = 1, critical = 2, unknown = 3
        public var name: String { ["OK", "WARNING", "CRITICAL", "UNKNOWN"][Int(rawValue)] }
        public static func < (a: State, b: State) -> Bool { a.rawValue < b.rawValue }
    }

    public struct PolicyResult: Encodable, Sendable {
        public let name: String
        public let state: String
        public let ageSeconds: Double?
        public let warningSeconds: Double
        public let criticalSeconds: Double
        public let lastOutcome: String?
        public let lastVerifyErrors: Int
        public let problems: [String]
    }

    public struct Result: Encodable, Sendable {
        public let state: String
        public let exitCode: Int32
        public let summary: String
        public let ready: Bool?
        public let policies: [PolicyResult]
        /// Nagios performance data: `'label'=value[unit];warn;crit;min`, one per policy.
        public let perfdata: [String]

        /// The plugin's one output line.
        public var line: String {
            "CHAINVAULT \(state): \(summary)" + (perfdata.isEmpty ? "" : " | " + perfdata.joined(separator: " "))
        }
    }

    public var warningSeconds: Double?
    public var criticalSeconds: Double?
    public var onlyPolicy: String?

    public init(warningSeconds: Double? = nil, criticalSeconds: Double? = nil, onlyPolicy: String? = nil) {
        self.warningSeconds = warningSeconds; self.criticalSeconds = criticalSeconds; self.onlyPolicy = onlyPolicy
    }

    public static func unknown(_ message: String) -> Result {
        Result(
            state: State.unknown.name, exitCode: State.unknown.rawValue, summary: message, ready: nil, policies: [],
            perfdata: [])
    }

    public func evaluate(_ status: Status) -> Result {
        var policies = status.policies
        if let only = onlyPolicy {
            policies = policies.filter { $0.name == only }
            if policies.isEmpty { return Self.unknown("no policy \(only) (the daemon has: \(Self.names(status)))") }
        }
        var overall = State.ok
        var messages: [String] = [], perf: [String] = [], results: [PolicyResult] = []
        for p in policies {
            let w = warningSeconds ?? p.rpoSeconds, c = criticalSeconds ?? 2 * p.rpoSeconds
            var state = State.ok, problems: [String] = []
            func raise(_ to: State, _ message: String) { state = max(state, to); problems.append(message) }
            if let age = p.ageSeconds {
                if age > c {
                    raise(.critical, "last backup \(Self.age(age)) ago (critical over \(Self.age(c)))")
                } else if age > w {
                    raise(.warning, "last backup \(Self.age(age)) ago (late over \(Self.age(w)))")
                }
            } else {
                raise(.critical, "never backed up")
            }
            if p.lastVerifyErrors > 0 { raise(.critical, "verify found \(p.lastVerifyErrors) problem(s)") }
            if p.lastOutcome == JobState.failed.rawValue {
                raise(.warning, "last run failed: \(p.lastError ?? "no error recorded")")
            }
            overall = max(overall, state)
            messages += problems.map { "\(p.name) \($0)" }
            // "U" is the plugin guidelines' value for "no data": a never-backed-up policy has no age.
            let value = p.ageSeconds.map { "\(Int($0.rounded()))s" } ?? "U"
            perf.append("\(Self.label("age_" + p.name))=\(value);\(Int(w));\(Int(c));0")
            results.append(
                PolicyResult(
                    name: p.name, state: state.name, ageSeconds: p.ageSeconds, warningSeconds: w,
                    criticalSeconds: c, lastOutcome: p.lastOutcome,
                    lastVerifyErrors: p.lastVerifyErrors, problems: problems))
        }
        if !status.ready {
            overall = max(overall, .warning)
            messages.append("daemon not ready (see /readyz?verbose)")
        }
        let summary =
            messages.isEmpty
            ? "\(policies.count) policies backed up within their RPO"
            : messages.joined(separator: "; ")
        return Result(
            state: overall.name, exitCode: overall.rawValue, summary: summary, ready: status.ready,
            policies: results, perfdata: perf)
    }

    /// An age as a person reads it, exact enough at every scale: "45 s", "12 min", "3 h 05 min", "2 d 04 h".
    public static func age(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 120 { return "\(s) s" }
        if s < 7200 { return "\(s / 60) min" }
        if s < 172_800 { return String(format: "%d h %02d min", s / 3600, (s % 3600) / 60) }
        return String(format: "%d d %02d h", s / 86_400, (s % 86_400) / 3600)
    }

    /// A perfdata label, quoted when it holds characters the plugin format reserves.
    static func label(_ text: String) -> String {
        let plain = text.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "." }
        return plain ? text : "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    static func names(_ status: Status) -> String {
        status.policies.isEmpty ? "none" : status.policies.map(\.name).joined(separator: ", ")
    }
}
