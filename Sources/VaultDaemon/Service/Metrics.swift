import Foundation

/// Prometheus text exposition (format 0.0.4), built from memory only: a scrape never touches the
/// repository. Every family has HELP and TYPE, names end in their base unit, and each series
/// appears once.
public struct MetricsWriter {
    private var text = ""
    private var families = Set<String>()

    public init() {}

    public mutating func family(_ name: String, _ type: String, _ help: String) {
        precondition(families.insert(name).inserted, "metric family \(name) written twice")
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        let rendered =
            labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
        let v =
            value.isFinite
            ? (value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value))
            : (value.isNaN ? "NaN" : (value > 0 ? "+Inf" : "-Inf"))
        text += "\(name)\(rendered) \(v)\n"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    public var output: String { text }
}

public enum DaemonMetrics {
    public struct PolicyView: Sendable {
        public var name: String
        public var rpoSeconds: Double
        public var nextBackup: Double?
        public var state: PolicyState
    }

    public static func render(
        version: String, policies: [PolicyView], state: DaemonState, now: Double, running: JobKind?, ready: Bool
    ) -> String {
        var m = MetricsWriter()
        m.family("chainvault_build_info", "gauge", "Build information; always 1.")
        m.sample("chainvault_build_info", [("version", version)], 1)
        m.family(
            "chainvault_ready", "gauge",
            "1 when the daemon is configured, has its key and reached the repository recently.")
        m.sample("chainvault_ready", [], ready ? 1 : 0)
        m.family("chainvault_job_running", "gauge", "1 while a job runs, labelled with its kind.")
        for kind in ["backup", "verify", "drill", "restore", "prune"] {
            m.sample("chainvault_job_running", [("kind", kind)], running?.action == kind ? 1 : 0)
        }
        func perPolicy(_ name: String, _ type: String, _ help: String, _ value: (PolicyView) -> Double?) {
            m.family(name, type, help)
            for p in policies { if let v = value(p) { m.sample(name, [("policy", p.name)], v) } }
        }
        perPolicy(
            "chainvault_backup_last_success_timestamp_seconds", "gauge", "Unix time of the last successful backup."
        ) { $0.state.lastSuccess }
        perPolicy("chainvault_backup_last_duration_seconds", "gauge", "Duration of the last backup run.") {
            $0.state.lastDurationSeconds
        }
        perPolicy(
            "chainvault_backup_last_outcome", "gauge",
            "0 if the last backup failed, 1 if it succeeded or was interrupted (stopped, and retried)."
        ) { p in
            p.state.lastOutcome.map { $0 == JobState.failed.rawValue ? 0 : 1 }
        }
        m.family(
            "chainvault_backup_runs_total", "counter", "Backup runs by result since the state directory was created.")
        for p in policies {
            m.sample(
                "chainvault_backup_runs_total", [("policy", p.name), ("result", "succeeded")],
                Double(p.state.runsSucceeded))
            m.sample(
                "chainvault_backup_runs_total", [("policy", p.name), ("result", "failed")], Double(p.state.runsFailed))
            m.sample(
                "chainvault_backup_runs_total", [("policy", p.name), ("result", "interrupted")],
                Double(p.state.runsInterrupted ?? 0))
        }
        perPolicy("chainvault_backup_last_read_bytes", "gauge", "Bytes read from the source by the last backup.") {
            Double($0.state.lastBytesRead)
        }
        perPolicy("chainvault_backup_last_added_bytes", "gauge", "New bytes after deduplication in the last backup.") {
            Double($0.state.lastBytesAdded)
        }
        perPolicy(
            "chainvault_backup_last_stored_bytes", "gauge",
            "Bytes written to the repository by the last backup (compressed, encrypted)."
        ) { Double($0.state.lastBytesStored) }
        perPolicy("chainvault_backup_next_run_timestamp_seconds", "gauge", "Unix time of the next scheduled backup.") {
            $0.nextBackup
        }
        perPolicy(
            "chainvault_backup_rpo_seconds", "gauge",
            "Recovery point objective: the age at which the last backup counts as late."
        ) { $0.rpoSeconds }
        perPolicy(
            "chainvault_backup_rpo_breached", "gauge",
            "1 when the last successful backup is older than the RPO (or there is none)."
        ) { p in
            (p.state.lastSuccess.map { now - $0 > p.rpoSeconds } ?? true) ? 1 : 0
        }
        perPolicy(
            "chainvault_node_last_downtime_seconds", "gauge",
            "How long the node was stopped for the last consistent backup."
        ) { $0.state.lastDowntimeSeconds }
        perPolicy("chainvault_repository_snapshots", "gauge", "Snapshots of the policy in the repository.") {
            Double($0.state.snapshots)
        }
        perPolicy(
            "chainvault_verify_last_success_timestamp_seconds", "gauge",
            "Unix time of the last verify run that found no problem."
        ) { $0.state.lastVerifySuccess }
        perPolicy("chainvault_verify_last_errors", "gauge", "Problems found by the last verify run.") {
            Double($0.state.lastVerifyErrors)
        }
        perPolicy(
            "chainvault_verify_last_read_packs", "gauge", "Packs read (downloaded and checked) by the last verify run."
        ) {
            $0.state.lastVerifyPacksRead.map { Double($0) }
        }
        perPolicy(
            "chainvault_verify_window_read_ratio", "gauge",
            "Share of the packs read in the rolling verify's current window (readAllWithinDays)."
        ) { $0.state.verifyCoverage?.share }
        perPolicy(
            "chainvault_verify_oldest_unread_age_seconds", "gauge",
            "How long the oldest pack not yet read in the current window has gone unread."
        ) { p in
            p.state.verifyCoverage?.oldestUnreadAge(now: now)
        }
        perPolicy(
            "chainvault_restore_drill_last_duration_seconds", "gauge",
            "Duration of the last restore drill: the recovery time to expect (RTO estimate)."
        ) { $0.state.lastDrillSeconds }
        perPolicy("chainvault_chain_height", "gauge", "Height of the best chain the last backup's chain check found.") {
            $0.state.chainCheck?.height.map { Double($0) }
        }
        perPolicy(
            "chainvault_chain_check_failed", "gauge",
            "1 when the last backup's chain check found the source's chain invalid, 0 when it was valid."
        ) {
            $0.state.chainCheck.map { $0.valid ? 0 : 1 }
        }
        perPolicy(
            "chainvault_restore_drill_last_bytes_per_second", "gauge",
            "Snapshot bytes per second the last restore drill fetched and checked."
        ) {
            $0.state.lastDrillBytesPerSecond
        }
        perPolicy(
            "chainvault_restore_drill_last_bytes", "gauge",
            "Bytes of the snapshot the last restore drill checked (what a restore writes)."
        ) {
            $0.state.lastDrillBytes.map { Double($0) }
        }
        m.family("chainvault_prune_last_success_timestamp_seconds", "gauge", "Unix time of the last successful prune.")
        if let t = state.lastPrune { m.sample("chainvault_prune_last_success_timestamp_seconds", [], t) }
        m.family("chainvault_repository_size_bytes", "gauge", "Bytes of indexed data in the repository.")
        m.sample("chainvault_repository_size_bytes", [], Double(state.repositoryBytes))
        m.family("chainvault_restore_runs_total", "counter", "Restores requested through the API, by result.")
        m.sample("chainvault_restore_runs_total", [("result", "succeeded")], Double(state.restoresSucceeded))
        m.sample("chainvault_restore_runs_total", [("result", "failed")], Double(state.restoresFailed))
        m.family(
            "chainvault_restore_last_duration_seconds", "gauge", "Duration of the last restore run through the API.")
        if let s = state.lastRestoreSeconds { m.sample("chainvault_restore_last_duration_seconds", [], s) }
        return m.output
    }
}
