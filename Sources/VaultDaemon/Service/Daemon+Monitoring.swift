import Foundation
import VaultCore

/// What the daemon tells monitoring besides /metrics' job state: the readiness probe, webhook
/// events (job started and finished, a policy late against its RPO), and the outcomes of
/// verify, drill and prune for their metrics.
extension Daemon {
    static let defaultProbeEvery = 15.0
    static let defaultProbeTimeout = 10.0

    func startMonitoring() { restartProbe() }

    /// At SIGTERM the last job's events are usually still queued: they get up to
    /// `webhookFlushSeconds` to go out, and whatever did not is logged as dropped.
    func stopMonitoring() {
        probe.withLock { $0 }?.stop()
        for (name, left) in webhooks.flush(within: Self.webhookFlushSeconds) {
            log(
                left == 0 ? 7 : 4, "webhook_flush",
                [
                    ("webhook", name), ("result", left == 0 ? "flushed" : "timeout"),
                    ("dropped", "\(left)")
                ])
        }
    }

    static let webhookFlushSeconds = 5.0

    /// A new probe with the (re)loaded config's period; the old one stops after its current look.
    func restartProbe() {
        let (everyText, timeoutText) = settings.withLock {
            ($0.config.readinessProbeEvery, $0.config.readinessProbeTimeout)
        }
        let every = everyText?.seconds ?? Self.defaultProbeEvery
        let timeout = timeoutText?.seconds ?? Self.defaultProbeTimeout
        let probe = ReadinessProbe(
            every: max(every, 0.5), timeout: max(timeout, 0.5),
            location: { [unowned self] in config.repository },
            onChange: { [unowned self] outcome in
                if outcome.ok { loop.withLock { $0.lastContact = outcome.at } }
                log(
                    outcome.ok ? 6 : 3, "readiness-probe",
                    [
                        ("result", outcome.ok ? "succeeded" : "failed"),
                        ("detail", outcome.detail),
                        ("seconds", String(format: "%.3f", outcome.seconds))
                    ])
            })
        let old = self.probe.withLock { current -> ReadinessProbe? in
            let old = current
            current = probe
            return old
        }
        old?.stop()
        probe.start()
    }

    static func webhookTargets(_ config: DaemonConfig, _ env: [String: String]) throws -> [WebhookDispatcher.Target] {
        try (config.webhooks ?? []).map { WebhookDispatcher.Target(spec: $0, url: try $0.resolveURL(environment: env)) }
    }

    func jobStarted(_ key: JobKind, id: String?) {
        webhooks.post(event: "started", policy: key.policy, job: id, kind: key.action)
    }

    /// After a job's record is written: outcome metrics of verify, drill and prune, and webhooks.
    func jobFinished(
        _ key: JobKind, id: String, outcome: JobState, error: String?, detail: [String: String],
        seconds: Double
    ) {
        if case .backup(let policy) = key, outcome == .succeeded {
            _ = loop.withLock { $0.lateNotified.remove(policy) }
        }
        state.update(save: true) { state in
            let now = Date().timeIntervalSince1970
            switch key {
            case .verify(let policy):
                state.policies[policy, default: PolicyState()].lastVerifyOutcome = outcome.rawValue
            case .drill(let policy):
                state.policies[policy, default: PolicyState()].lastDrillOutcome = outcome.rawValue
                if outcome == .succeeded { state.policies[policy, default: PolicyState()].lastDrillSuccess = now }
            case .prune: state.lastPruneOutcome = outcome.rawValue
            case .backup, .forget, .restore: break
            }
        }
        let (kind, policy) = (key.action, key.policy)
        webhooks.post(
            event: outcome.rawValue, policy: policy, job: id, kind: kind, outcome: outcome.rawValue,
            error: error, snapshot: detail["snapshot"], seconds: seconds)
        // A verify's failure that is about the data (not the store being away) is its own event.
        if case .verify = key, outcome == .failed, error?.hasPrefix("verify found") == true {
            webhooks.post(
                event: "verify_errors", policy: policy, job: id, kind: kind, outcome: outcome.rawValue,
                error: error)
        }
    }

    /// Once per breach: a policy whose last good backup (or, never backed up, the state's
    /// creation) is older than its RPO gets a `late` event; its next good backup re-arms it.
    func checkLateness() {
        let now = Date().timeIntervalSince1970
        let policies = self.policies
        let (lastSuccess, created) = state.read { state in (state.policies.mapValues(\.lastSuccess), state.created) }
        let late: [String] = loop.withLock { loop in
            var found: [String] = []
            for (name, p) in policies where !loop.lateNotified.contains(name) {
                guard let rpo = p.rpo.seconds else { continue }
                let since = (lastSuccess[name] ?? nil) ?? created ?? now
                if now - since > rpo { found.append(name); loop.lateNotified.insert(name) }
            }
            return found
        }
        for name in late {
            log(4, "late", [("policy", name)])
            webhooks.post(
                event: "late", policy: name, job: nil, kind: "backup",
                error: "no good backup of \(name) within its RPO")
        }
    }
}
