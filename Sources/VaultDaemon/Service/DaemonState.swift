import Foundation
import VaultCore
import VaultRepository

/// What the daemon remembers across restarts, per policy, in `<state>/state.json` (written
/// atomically after every job), and what /metrics and /v1/status report.
public struct PolicyState: Codable, Sendable {
    public var lastBackupStart: Double?
    public var lastSuccess: Double?
    public var lastSnapshot: String?
    public var lastDurationSeconds: Double?
    /// A `JobState`'s raw value. The outcomes here stay text: a value this version does not know
    /// (a newer daemon's, an edit) must not make the whole state file unreadable, which would
    /// forget disabled policies and backoffs too.
    public var lastOutcome: String?
    public var lastError: String?
    public var runsSucceeded = 0
    public var runsFailed = 0
    public var lastBytesRead: UInt64 = 0
    public var lastBytesAdded: UInt64 = 0
    public var lastBytesStored: UInt64 = 0
    public var lastDowntimeSeconds: Double?
    /// The chain check of the last backup: its profile, the best chain's height and tip, and whether
    /// the chain was valid (absent when no profile checked the source).
    public var chainCheck: ChainCheck?
    public var lastVerifyStart: Double?
    public var lastVerifySuccess: Double?
    public var lastVerifyErrors = 0
    public var verifyRuns = 0
    public var lastDrillStart: Double?
    public var lastDrillSeconds: Double?
    public var lastDrillOutcome: String?
    public var snapshots = 0
    // Fields added later are optional: a state.json written before them must still load (a
    // non-optional field missing from the file fails the whole decode, and the state is lost).
    /// Backups stopped by SIGTERM or by the daemon's death: neither a success nor a failure.
    public var runsInterrupted: Int?
    /// The rolling verify's place in its window.
    public var verifyCoverage: VerifyCoverage?
    public var lastVerifyPacksRead: Int?
    /// A backup saved its snapshot but could not apply retention (the repository was locked):
    /// the next prune (or backup) applies it.
    public var retentionPending: Bool?
    /// The last successful restore drill: the bytes a restore writes, and that per second.
    public var lastDrillBytes: UInt64?
    public var lastDrillBytesPerSecond: Double?
    /// Outcomes (succeeded, failed, interrupted) and last successes for the metrics issue 15 asked for.
    public var lastVerifyOutcome: String?
    public var lastDrillSuccess: Double?
    public var lastCopyOutcome: String?
    public var lastCopySuccess: Double?
    /// When the newest snapshot known to be off-site was taken (its job's start).
    public var lastCopiedSnapshotTime: Double?
    public init() {}
}

/// Consecutive unsuccessful attempts of one job, saved before each attempt starts, so a job that
/// takes the daemon down with it is still counted and backed off after the restart.
public struct JobAttempts: Codable, Sendable, Equatable {
    public var failures: Int
    public var lastStart: Double
}

public struct DaemonState: Codable, Sendable {
    public var policies: [String: PolicyState] = [:]
    public var lastPrune: Double?
    public var restoresSucceeded = 0
    public var restoresFailed = 0
    public var lastRestoreSeconds: Double?
    public var repositoryBytes: UInt64 = 0
    /// The job running when this was saved (a `JobKind`'s text); still set at start-up means the
    /// daemon was killed during it.
    public var runningJob: String?
    /// When this state was first written: the start of every interval schedule that never ran
    /// (prune, verify, drill), so a daemon restarted more often than the interval still runs it.
    public var created: Double?
    /// Per job key ("backup:node", "prune"), while its last attempt did not succeed.
    public var attempts: [String: JobAttempts]?
    /// Policies disabled through the API: none of their jobs is scheduled or triggered.
    public var disabledPolicies: [String]?
    public var lastPruneOutcome: String?
    public init() {}

    public static func load(_ path: String) -> DaemonState {
        guard let bytes = try? Posix.readFile(path),
            let state = try? JSONDecoder().decode(DaemonState.self, from: Data(bytes))
        else { return DaemonState() }
        return state
    }

    public func save(_ path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try Array(try encoder.encode(self)).withUnsafeBytes { try Posix.writeFileAtomically(path, $0, mode: 0o640) }
    }
}

/// A job's life, kept in memory and queryable through /v1/jobs/{id}.
public struct JobRecord: Codable, Sendable {
    public var id: String
    /// The `JobKind`'s action (`backup`, `verify`, `drill`, `forget`, `restore`, `prune`).
    public var kind: String
    public var policy: String?
    public var state: JobState
    public var queued: Double
    public var started: Double?
    public var finished: Double?
    public var error: String?
    public var snapshot: String?
    public var detail: [String: String] = [:]
    /// While running: files and bytes done so far, the expected total when known, seconds elapsed.
    public var progress: ProgressInfo?
    /// A restore's steps (`stopping-node`, `restoring`, `starting-node`), as they happen.
    public var phases: [JobPhase]?
    /// A restore into a policy's source: from the pre hook's end (node stopped) to the post hook's end.
    public var downtimeSeconds: Double?

    public struct ProgressInfo: Codable, Sendable {
        public var files: UInt64
        public var bytes: UInt64
        public var totalBytes: UInt64?
        public var elapsedSeconds: Double
    }
}

/// One step of a job: when it started and finished, and how it went ("succeeded", "failed";
/// no outcome while it runs).
public struct JobPhase: Codable, Sendable, Equatable {
    public var name: String
    public var started: Double
    public var finished: Double?
    public var outcome: String?
    public var error: String?

    public init(name: String, started: Double) { self.name = name; self.started = started }
}
