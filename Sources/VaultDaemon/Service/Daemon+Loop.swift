import Dispatch
import Foundation
import Glibc
import VaultCore
import VaultEngine
import VaultRepository
import VaultStorage

/// The loop: keeps the schedule, starts the queue's next job, reloads on SIGHUP, reopens the
/// repository while it is away, and stops cleanly on SIGTERM. Its state is `loop`.
extension Daemon {
    public func run() -> Int32 {
        let (host, port) = config.listenAddress
        let (budget, raised) = DescriptorBudget.raise()
        var options = HTTPServer.Options()
        options.maxConnections = budget.connectionCap
        let server = HTTPServer(host: host, port: port, options: options) { [unowned self] in self.handle($0) }
        do { try server.start() } catch {
            log(3, "start", [("error", (error as? VaultError)?.message ?? "\(error)")])
            return ErrorCode.usage.rawValue
        }
        SignalWatcher.on(SIGHUP) { [weak self] in self?.loop.withLock { $0.reloadRequested = true } }
        schedule()
        openRepository()
        startMonitoring()
        let names = policies.keys.sorted().joined(separator: ",")
        _ = try? audit.append(
            actor: "daemon", action: "start", subject: "config \(configPath)", result: "succeeded",
            details: ["policies": names])
        log(
            raised ? 7 : 6, "descriptors",
            [
                ("limit", "\(budget.limit)"), ("connectionCap", "\(budget.connectionCap)"),
                ("raised", "\(raised)")
            ])
        log(6, "ready", [("listen", "\(host):\(server.port)"), ("policies", names), ("repository", config.repository)])
        notifier.ready(status: "\(policies.count) policies, idle")
        let watchdog = SystemdNotifier.watchdogInterval(environment: environment).map { $0 / 2 }
        var lastPing = Date.distantPast
        // Only this thread starts and joins the job thread.
        var jobThread: Thread?

        while true {
            loop.withLock { $0.lastTick = Date() }
            if let w = watchdog, Date().timeIntervalSince(lastPing) >= w { notifier.watchdog(); lastPing = Date() }
            if stopRequested.isCancelled { break }
            if loop.withLock({ $0.reloadRequested }) { reload() }
            let (opened, lastContact) = loop.withLock { ($0.repositoryOpenedAt != nil, $0.lastContact) }
            if !opened && Date().timeIntervalSince(lastContact ?? .distantPast) > 30 { openRepository() }
            checkLateness()
            let running = book.withLock { $0.running }
            for key in scheduler.due() where running != key {
                enqueue(key, actor: "schedule")
            }
            if jobThread == nil, loop.withLock({ $0.repositoryOpenedAt != nil }) || running != nil,
                let key = queue.start()
            {
                jobThread = startJob(key)
            }
            if jobThread != nil, jobDone.wait(timeout: .now()) == .success { jobThread = nil }
            usleep(200_000)
        }

        // SIGTERM: stop the running job at its next safe point, then leave.
        let (running, cancellation) = book.withLock { ($0.running, $0.cancellation) }
        log(6, "stopping", [("running", running?.description ?? "none")])
        notifier.stopping(status: "stopping")
        // Cancel first, then report stopping: whoever sees "stopping" knows the job is cancelled.
        cancellation.cancel()
        loop.withLock { $0.stopping = true }
        if jobThread != nil { jobDone.wait() }
        server.stop()
        stopMonitoring()
        try? state.save()
        _ = try? audit.append(actor: "daemon", action: "stop", subject: "signal", result: "succeeded")
        return 0
    }

    /// SIGHUP: reload config and policies; a bad new config keeps the old one running.
    func reload() {
        loop.withLock { $0.reloadRequested = false }
        notifier.reloading()
        do {
            let (newConfig, newPolicies) = try Self.loadConfiguration(configPath)
            let newSettings = DaemonSettings(
                config: newConfig, policies: newPolicies,
                credential: try Self.credential(newConfig, environment),
                apiTokens: try Self.apiTokens(newConfig, environment))
            let newWebhooks = try Self.webhookTargets(newConfig, environment)
            settings.withLock { $0 = newSettings }
            loop.withLock {
                $0.repositoryOpenedAt = nil
                $0.lastReloadSucceeded = true
                $0.lastReloadSuccess = Date().timeIntervalSince1970
            }
            webhooks.configure(newWebhooks)
            bandwidth.configure(newConfig.bandwidth, repository: newConfig.repository, policies: newPolicies)
            restartProbe()
            schedule()
            loop.withLock { $0.reloads += 1 }
            openRepository()
            log(6, "reload", [("result", "succeeded"), ("policies", newPolicies.keys.sorted().joined(separator: ","))])
            _ = try? audit.append(
                actor: "signal", action: "reload", subject: "config \(configPath)", result: "succeeded")
        } catch {
            let message = (error as? VaultError)?.description ?? "\(error)"
            loop.withLock { $0.lastReloadSucceeded = false }
            log(3, "reload", [("result", "failed"), ("kept", "previous-config"), ("error", message)])
            _ = try? audit.append(
                actor: "signal", action: "reload", subject: "config \(configPath)", result: "failed",
                details: ["error": message])
        }
        notifier.ready(status: "\(policies.count) policies")
    }

    /// Puts every policy's jobs on the scheduler, and takes off those of policies (or of verify and
    /// drill sections) a reload removed. Intervals that never ran count from the state's creation,
    /// not from this start: a daemon restarted more often than `pruneEvery` still prunes.
    func schedule() {
        let (policies, pruneSpec) = settings.withLock { ($0.policies, $0.config.pruneEvery) }
        let state = state.read { $0 }
        let created = Date(timeIntervalSince1970: state.created ?? Date().timeIntervalSince1970)
        let date = { (t: Double?) in t.map { Date(timeIntervalSince1970: $0) } }
        var wanted = Set<JobKind>()
        func add(_ key: JobKind, _ schedule: Schedule, jitter: Double = 0, lastRun: Date?, retryCap: Double = 3600) {
            wanted.insert(key)
            let attempts = state.attempts?[key.description]
            scheduler.add(
                key, schedule: schedule, jitter: jitter, lastRun: lastRun, failures: attempts?.failures ?? 0,
                lastAttempt: date(attempts?.lastStart), retryCap: retryCap)
        }
        for (name, p) in policies where !(state.disabledPolicies ?? []).contains(name) {
            guard let s = try? Schedule.parse(p.schedule) else { continue }
            let jitter = p.schedule.jitter?.seconds ?? 0
            // Retries fit several times within the RPO: at most a quarter of it apart.
            let rpo = p.rpo.seconds ?? 3600
            add(
                .backup(policy: name), s, jitter: jitter, lastRun: date(state.policies[name]?.lastBackupStart),
                retryCap: max(60, min(3600, rpo / 4)))
            if let v = p.verify, let every = v.every.seconds {
                let last = date(state.policies[name]?.lastVerifyStart) ?? created
                add(.verify(policy: name), .every(seconds: every), lastRun: last)
            }
            if let d = p.restoreDrill, let every = d.every.seconds {
                let last = date(state.policies[name]?.lastDrillStart) ?? created
                add(.drill(policy: name), .every(seconds: every), lastRun: last)
            }
        }
        let prune = pruneSpec?.seconds ?? 86_400
        add(.prune, .every(seconds: prune), lastRun: date(state.lastPrune) ?? created)
        for key in scheduler.keys.subtracting(wanted) { scheduler.remove(key) }
    }

    func openRepository() {
        let (path, credential, names) = settings.withLock {
            ($0.config.repository, $0.credential, Array($0.policies.keys))
        }
        do {
            let repo = try Repository.open(
                try openBackend(path, limits: bandwidth.limits(path)), credential: credential)
            try repo.loadIndex()
            let snapshots = try repo.listSnapshots()
            loop.withLock {
                $0.repositoryOpenedAt = Date()
                $0.lastContact = Date()
                $0.repositoryError = nil
            }
            state.update { state in
                state.repositoryBytes = repo.index.storedBytes
                for name in names {
                    state.policies[name, default: PolicyState()].snapshots =
                        snapshots.filter { $0.snapshot.policy == name }.count
                }
            }
        } catch {
            let message = (error as? VaultError)?.message ?? "\(error)"
            loop.withLock {
                $0.repositoryError = message
                $0.lastContact = Date()
            }
            log(3, "repository", [("result", "failed"), ("error", message)])
        }
    }
}
