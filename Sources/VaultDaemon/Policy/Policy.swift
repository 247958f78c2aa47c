import VaultCore
import VaultEngine

/// How a backup gets a consistent copy of a node's data (the policy's `consistency.mode`).
public enum ConsistencyMode: String, Sendable, CaseIterable {
    case live
    case stop
    case twoPhase = "two-phase"
}

/// A node's backup policy, as written in `Policies/<name>.json`.
public struct Policy: Codable, Sendable, Equatable {
    public struct Consistency: Codable, Sendable, Equatable {
        /// `live`: copy while the node runs (append-only data only). `stop`: run `pre` (stop the
        /// node), back up, always run `post` (start it). `two-phase`: a live pass, then `pre`, a
        /// short pass that only picks up what changed, then `post`.
        /// The mode as the file writes it; `mode` is nil when it names none (the validator says so,
        /// with the other problems of the file, which a failing decode would hide).
        public var modeName: String
        /// Commands as argument vectors (no shell), e.g. ["systemctl", "stop", "bitcoind"].
        public var pre: [String]?
        public var post: [String]?
        public var timeoutSeconds: Int?

        public var mode: ConsistencyMode? { ConsistencyMode(rawValue: modeName) }

        enum CodingKeys: String, CodingKey { case modeName = "mode", pre, post, timeoutSeconds }
    }

    public struct ScheduleSpec: Codable, Sendable, Equatable {
        /// One of: an interval ("6h"), a daily UTC time ("03:30"), a weekly UTC day and time ("sun 04:00").
        public var every: TimeSpan?
        public var daily: String?
        public var weekly: String?
        /// A random delay up to this long is added to each run, so many servers do not hit one
        /// object store at the same second.
        public var jitter: TimeSpan?

        public init(every: TimeSpan? = nil, daily: String? = nil, weekly: String? = nil, jitter: TimeSpan? = nil) {
            self.every = every; self.daily = daily; self.weekly = weekly; self.jitter = jitter
        }
    }

    public struct Retention: Codable, Sendable, Equatable {
        public var keepLast: Int?
        public var keepHourly: Int?
        public var keepDaily: Int?
        public var keepWeekly: Int?
        public var keepMonthly: Int?
        public var keepYearly: Int?
        public var keepWithin: TimeSpan?
    }

    public struct Verify: Codable, Sendable, Equatable {
        /// How often to verify ("24h").
        public var every: TimeSpan
        /// Every pack is read at least once within this many days: each run reads 1/N of them.
        public var readAllWithinDays: Int
    }

    public struct RestoreDrill: Codable, Sendable, Equatable {
        /// How often to prove that the latest snapshot restores ("7d").
        public var every: TimeSpan
        /// An absolute directory to restore the snapshot into, read back, compare and remove;
        /// absent: the drill streams the snapshot through the checks and writes no tree.
        public var scratch: String?
    }

    public var name: String
    public var description: String?
    public var source: String
    /// When set, only these paths (globs) are copied, with everything under matching directories.
    public var include: [String]?
    public var exclude: [String]?
    public var consistency: Consistency
    public var schedule: ScheduleSpec
    public var retention: Retention
    public var verify: Verify?
    /// Recovery point objective: a backup older than this is late ("8h").
    public var rpo: TimeSpan
    /// Paths (relative to the source, globs allowed) that a restore never rolls back without
    /// --force: a validator's signing state, which must only move forward.
    public var protect: [String]?
    public var restoreDrill: RestoreDrill?
    public var tags: [String]?
    /// A second repository (off-site: `s3:...`, or another path) that every new snapshot of this
    /// policy is copied to after the backup, with the same retention. It must be initialised with
    /// the daemon's key (`chainvault init --repo REPO --key-file <the same key>`).
    public var copyTo: String?
    /// The chain profile of the source ("bitcoind"), or "none"; absent: detected from the layout.
    public var chain: String?
    /// "required" (a snapshot whose chain check fails is flagged and never `latest`), "recorded"
    /// (the default: the result is recorded), or "off".
    public var chainCheck: String?
    /// Bandwidth limits in KiB/s for this policy's jobs (backup, verify, drill, copy): they apply
    /// together with the daemon's repository-wide `bandwidth` limits, so the lower rate wins.
    public var limitUpload: Double?
    public var limitDownload: Double?

    /// The field names each object accepts: anything else is a typo and an error.
    static let knownKeys: [String: Set<String>] = [
        "": [
            "name", "description", "source", "include", "exclude", "consistency", "schedule", "retention", "verify",
            "rpo", "protect", "restoreDrill", "tags", "copyTo", "chain", "chainCheck",
            "limitUpload", "limitDownload"
        ],
        "consistency": ["mode", "pre", "post", "timeoutSeconds"],
        "schedule": ["every", "daily", "weekly", "jitter"],
        "retention": ["keepLast", "keepHourly", "keepDaily", "keepWeekly", "keepMonthly", "keepYearly", "keepWithin"],
        "verify": ["every", "readAllWithinDays"],
        "restoreDrill": ["every", "scratch"]
    ]

    public var retentionPolicy: RetentionPolicy {
        var r = RetentionPolicy()
        r.keepLast = retention.keepLast ?? 0
        r.keepHourly = retention.keepHourly ?? 0
        r.keepDaily = retention.keepDaily ?? 0
        r.keepWeekly = retention.keepWeekly ?? 0
        r.keepMonthly = retention.keepMonthly ?? 0
        r.keepYearly = retention.keepYearly ?? 0
        r.keepWithinSeconds = retention.keepWithin?.seconds ?? 0
        return r
    }
}

/// One thing wrong with a policy: the field (a dotted path) and what is expected.
public struct PolicyProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var message: String
    public var line: Int?
    /// Where the offending value starts on its line (1-based), when it is known.
    public var column: Int?

    public init(field: String, message: String, line: Int? = nil, column: Int? = nil) {
        self.field = field; self.message = message; self.line = line; self.column = column
    }

    /// `FILE:LINE: field: what is expected`, with `:COLUMN` after the line when it is known.
    public func report(in file: String) -> String {
        "\(file):\(line.map(String.init) ?? "1")\(column.map { ":\($0)" } ?? ""): \(field.isEmpty ? "" : field + ": ")\(message)"
    }

    public var description: String {
        (line.map { "line \($0): " } ?? "") + (field.isEmpty ? "" : "\(field): ") + message
    }
}
