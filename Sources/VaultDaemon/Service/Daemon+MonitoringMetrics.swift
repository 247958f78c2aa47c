import Foundation
import VaultCore

/// The series issue 15 added to /metrics: outcomes of verify, drill, copy and prune, the config
/// reload, repository locks, webhook delivery, and the standard `process_*`. Memory only (and
/// `/proc`), like the rest of the page.
extension Daemon {
    func monitoringMetrics(
        policies: [String: Policy], state: DaemonState, loop: LoopState, probe: ReadinessProbe?,
        now: Double = Date().timeIntervalSince1970
    ) -> String {
        var m = MetricsWriter()
        let sorted = policies.values.sorted { $0.name < $1.name }
        func outcome(_ text: String?) -> Double? { text.map { $0 == JobState.failed.rawValue ? 0 : 1 } }
        func perPolicy(_ name: String, _ help: String, _ value: (Policy, PolicyState) -> Double?) {
            m.family(name, "gauge", help)
            for p in sorted {
                if let v = value(p, state.policies[p.name] ?? PolicyState()) { m.sample(name, [("policy", p.name)], v) }
            }
        }
        func single(_ name: String, _ help: String, _ value: Double?) {
            m.family(name, "gauge", help)
            if let value { m.sample(name, [], value) }
        }
        perPolicy("chainvault_restore_drill_last_outcome", "0 if the last restore drill failed, 1 if it succeeded.") {
            outcome($1.lastDrillOutcome)
        }
        perPolicy(
            "chainvault_restore_drill_last_success_timestamp_seconds",
            "Unix time of the last successful restore drill."
        ) { $1.lastDrillSuccess }
        perPolicy(
            "chainvault_verify_last_outcome",
            "0 if the last verify run failed (problems found or the repository unreadable), 1 if it succeeded."
        ) {
            outcome($1.lastVerifyOutcome)
        }
        perPolicy(
            "chainvault_copy_last_outcome",
            "0 if the last off-site copy (copyTo) failed, 1 if it succeeded."
        ) {
            $0.copyTo == nil ? nil : outcome($1.lastCopyOutcome)
        }
        perPolicy(
            "chainvault_copy_last_success_timestamp_seconds",
            "Unix time of the last successful off-site copy."
        ) {
            $0.copyTo == nil ? nil : $1.lastCopySuccess
        }
        perPolicy(
            "chainvault_copy_lag_seconds",
            "Age of the newest snapshot known to be in the off-site copy (since the state's creation if none is)."
        ) {
            $0.copyTo == nil ? nil : max(0, now - ($1.lastCopiedSnapshotTime ?? state.created ?? now))
        }
        single(
            "chainvault_prune_last_outcome", "0 if the last prune failed, 1 if it succeeded.",
            outcome(state.lastPruneOutcome))
        single(
            "chainvault_config_last_reload_successful",
            "1 if the last configuration load (start or SIGHUP) succeeded.", loop.lastReloadSucceeded ? 1 : 0)
        single(
            "chainvault_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful configuration load.", loop.lastReloadSuccess)
        let last = probe?.last
        single(
            "chainvault_repository_locks_held",
            "Lock objects in the repository at the last readiness probe (this daemon's and other processes').",
            last?.locks.map { Double($0) })
        single(
            "chainvault_readiness_probe_last_timestamp_seconds",
            "Unix time of the last readiness probe of the repository.", last?.at.timeIntervalSince1970)
        single("chainvault_readiness_probe_duration_seconds", "How long the last readiness probe took.", last?.seconds)
        let hooks = webhooks.counters
        let counters: [(String, String, (WebhookDispatcher.Counters) -> Int)] = [
            ("chainvault_webhook_deliveries_total", "Webhook calls delivered (2xx).", { $0.delivered }),
            ("chainvault_webhook_failures_total", "Webhook calls given up after their retries.", { $0.failures }),
            (
                "chainvault_webhook_retries_total", "Webhook attempts repeated after a network error, 429 or 5xx.",
                { $0.retries }
            ),
            (
                "chainvault_webhook_dropped_total", "Webhook calls dropped because the webhook's queue was full.",
                { $0.dropped }
            )
        ]
        for (name, help, value) in counters {
            m.family(name, "counter", help)
            for (hook, c) in hooks { m.sample(name, [("webhook", hook)], Double(value(c))) }
        }
        m.family("chainvault_webhook_queue_length", "gauge", "Webhook calls waiting to be delivered.")
        for (hook, c) in hooks { m.sample("chainvault_webhook_queue_length", [("webhook", hook)], Double(c.queued)) }
        ProcessMetrics.read()?.write(to: &m)
        return m.output
    }
}
