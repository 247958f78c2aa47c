import Dispatch
import Foundation
import Glibc
import VaultCore
import VaultEngine
import VaultRepository
import VaultStorage

/// The service: loads config and policies, keeps every policy's jobs on schedule (one at a time),
/// serves health, metrics and the API, talks to systemd, and writes the audit log.
/// Every job is the same code an operator runs by hand.
public final class Daemon: @unchecked Sendable {
    public static let version = chainvaultVersion

    let configPath: String
    let environment: [String: String]
    let notifier: SystemdNotifier
    let stopRequested: Cancellation
    let lock = NSLock()
    var config: DaemonConfig
    var policies: [String: Policy]
    var state: DaemonState
    var stateDirectory: String
    var credential: Credential
    var apiTokens: APITokens
    var approvals: ApprovalStore
    let approvalClock: Clock
    var repositoryOpenedAt: Date?
    var repositoryError: String?
    var lastContact: Date?
    var jobs: [String: JobRecord] = [:]
    var jobOrder: [String] = []
    var jobIDForKey: [String: String] = [:]
    var restoreRequests: [String: RestoreOptions] = [:]
    var running: String?
    var jobCancellation = Cancellation()
    var jobProgress: JobProgress?
    var stopping = false
    /// Jobs started and finished since this start: tests and monitors wait on these, not on time.
    var jobsStarted = 0
    var jobsFinished = 0
    var reloads = 0
    var lastTick = Date()
    let scheduler = Scheduler(clock: SystemClock())
    let queue = JobQueue()
    var audit: AuditLog
    var server: HTTPServer?
    let logger: DaemonLogger
    let webhooks: WebhookDispatcher
    var probe: ReadinessProbe?
    let bandwidth = DaemonBandwidth()
    /// The last reload (or the start, which is the first load): whether it worked, and when one last did.
    var lastReloadSucceeded = true
    var lastReloadSuccess = Date().timeIntervalSince1970
    /// Policies a `late` webhook event was sent for, until their next good backup.
    var lateNotified = Set<String>()
    private var jobThread: Thread?
    private let jobDone = DispatchSemaphore(value: 0)
    private var reloadRequested = false

    /// Loads everything or throws: a daemon that cannot read its config must not start.
    public init(configPath: String, environment: [String: String] = ProcessInfo.processInfo.environment, stopRequested: Cancellation) throws {
        self.configPath = configPath
        self.environment = environment
        self.stopRequested = stopRequested
        notifier = SystemdNotifier(environment: environment)
        logger = DaemonLogger(environment: environment)
        webhooks = WebhookDispatcher(logger: logger)
        let (config, policies) = try Self.loadConfiguration(configPath)
        webhooks.configure(try Self.webhookTargets(config, environment))
        self.config = config
        self.policies = policies
        bandwidth.configure(config.bandwidth, repository: config.repository, policies: policies)
        stateDirectory = config.stateDirectoryPath(environment: environment)
        try Posix.mkdirs(stateDirectory, mode: 0o750)
        state = DaemonState.load(stateDirectory + "/state.json")
        audit = AuditLog(path: stateDirectory + "/audit.log")
        credential = try Self.credential(config, environment)
        apiTokens = try Self.apiTokens(config, environment)
        approvals = ApprovalStore(path: stateDirectory + "/approvals.json")
        approvalClock = ApprovalClock(offsetFile: environment["CHAINVAULT_TEST_CLOCK_FILE"])
        if state.created == nil { state.created = Date().timeIntervalSince1970 }
        if let killed = state.runningJob {
            // The previous daemon died during this job (SIGKILL, power loss, a crash on the job
            // thread): say so, once. Interrupted, not failed: the job is retried after its backoff.
            state.runningJob = nil
            let why = "interrupted (the daemon stopped during the job)"
            if killed.hasPrefix("backup:") {
                let name = String(killed.dropFirst(7))
                state.policies[name, default: PolicyState()].lastOutcome = "interrupted"
                state.policies[name, default: PolicyState()].lastError = why
                let before = state.policies[name]?.runsInterrupted ?? 0
                state.policies[name, default: PolicyState()].runsInterrupted = before + 1
            }
            _ = try? audit.append(actor: "daemon", action: String(killed.split(separator: ":")[0]), subject: killed,
                                  result: "interrupted", details: ["error": why])
        }
        try? state.save(stateDirectory + "/state.json")
    }

    static func loadConfiguration(_ path: String) throws -> (DaemonConfig, [String: Policy]) {
        let config = try DaemonConfig.load(path)
        let names = try DirectoryListing.names(config.policies).filter { $0.hasSuffix(".json") }.sorted()
        guard !names.isEmpty else {
            throw VaultError(.usage, "no policies (*.json) in \(config.policies)", hint: "copy one from Policies/ and adapt its source path")
        }
        var policies: [String: Policy] = [:]
        for name in names {
            let p = try PolicyLoader.load(config.policies + "/" + name)
            if policies[p.name] != nil { throw VaultError(.usage, "two policies are named \(p.name)", hint: "names must be unique") }
            policies[p.name] = p
        }
        return (config, policies)
    }

    static func credential(_ config: DaemonConfig, _ env: [String: String]) throws -> Credential {
        if let k = config.keyFile { return try Credential.keyFile(k) }
        if let p = config.passwordFile { return try Credential.passwordFile(p) }
        if let dir = env["CREDENTIALS_DIRECTORY"] { return try Credential.keyFile(dir + "/chainvault.key") }
        throw VaultError(.usage, "the config names no key", hint: "set keyFile or passwordFile, or LoadCredential=chainvault.key in the unit")
    }

    /// The API tokens, and the approval rules checked against the admin tokens they name.
    static func apiTokens(_ config: DaemonConfig, _ env: [String: String]) throws -> APITokens {
        let tokens = try APITokens.load(config, env)
        let admins = Set(tokens.entries.filter { $0.role == .admin }.map(\.name))
        let problems = (config.approvals ?? [:]).sorted { $0.key < $1.key }.flatMap { action, rule in
            rule.problems(admins: admins).map { "approvals.\(action): \($0)" }
        }
        guard problems.isEmpty else {
            throw VaultError(.usage, "the approval rules cannot be met:\n  " + problems.joined(separator: "\n  "),
                             hint: "name admin tokens in 'tokens' and in each rule's 'of', with 'required' at most their number")
        }
        return tokens
    }

    func log(_ priority: Int, _ event: String, _ fields: [(String, String)] = []) { logger.log(priority, event, fields) }

    // MARK: The loop

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
        self.server = server
        SignalWatcher.on(SIGHUP) { [weak self] in self?.lock.withLock { self?.reloadRequested = true } }
        schedule()
        openRepository()
        startMonitoring()
        _ = try? audit.append(actor: "daemon", action: "start", subject: "config \(configPath)", result: "succeeded", details: ["policies": policies.keys.sorted().joined(separator: ",")])
        log(raised ? 7 : 6, "descriptors", [("limit", "\(budget.limit)"), ("connectionCap", "\(budget.connectionCap)"), ("raised", "\(raised)")])
        log(6, "ready", [("listen", "\(host):\(server.port)"), ("policies", policies.keys.sorted().joined(separator: ",")),
                         ("repository", config.repository)])
        notifier.ready(status: "\(policies.count) policies, idle")
        let watchdog = SystemdNotifier.watchdogInterval(environment: environment).map { $0 / 2 }
        var lastPing = Date.distantPast

        while true {
            lock.withLock { lastTick = Date() }
            if let w = watchdog, Date().timeIntervalSince(lastPing) >= w { notifier.watchdog(); lastPing = Date() }
            if stopRequested.isCancelled { break }
            if lock.withLock({ reloadRequested }) { reload() }
            if lock.withLock({ repositoryOpenedAt == nil }) && Date().timeIntervalSince(lock.withLock { lastContact } ?? .distantPast) > 30 { openRepository() }
            checkLateness()
            for key in scheduler.due() where lock.withLock({ running != key }) {
                enqueue(key, actor: "schedule")
            }
            if jobThread == nil, lock.withLock({ repositoryOpenedAt != nil || running != nil }), let key = queue.start() {
                startJob(key)
            }
            if jobThread != nil, jobDone.wait(timeout: .now()) == .success { jobThread = nil }
            usleep(200_000)
        }

        // SIGTERM: stop the running job at its next safe point, then leave.
        log(6, "stopping", [("running", lock.withLock { running } ?? "none")])
        notifier.stopping(status: "stopping")
        // Cancel first, then report stopping: whoever sees "stopping" knows the job is cancelled.
        lock.withLock { jobCancellation }.cancel()
        lock.withLock { stopping = true }
        if jobThread != nil { jobDone.wait() }
        server.stop()
        stopMonitoring()
        try? lock.withLock { try state.save(stateDirectory + "/state.json") }
        _ = try? audit.append(actor: "daemon", action: "stop", subject: "signal", result: "succeeded")
        return 0
    }

    /// SIGHUP: reload config and policies; a bad new config keeps the old one running.
    func reload() {
        lock.withLock { reloadRequested = false }
        notifier.reloading()
        do {
            let (newConfig, newPolicies) = try Self.loadConfiguration(configPath)
            let newCredential = try Self.credential(newConfig, environment)
            let newTokens = try Self.apiTokens(newConfig, environment)
            let newWebhooks = try Self.webhookTargets(newConfig, environment)
            lock.withLock {
                config = newConfig; policies = newPolicies; credential = newCredential; apiTokens = newTokens
                repositoryOpenedAt = nil
                lastReloadSucceeded = true; lastReloadSuccess = Date().timeIntervalSince1970
            }
            webhooks.configure(newWebhooks)
            bandwidth.configure(newConfig.bandwidth, repository: newConfig.repository, policies: newPolicies)
            restartProbe()
            schedule()
            lock.withLock { reloads += 1 }
            openRepository()
            log(6, "reload", [("result", "succeeded"), ("policies", newPolicies.keys.sorted().joined(separator: ","))])
            _ = try? audit.append(actor: "signal", action: "reload", subject: "config \(configPath)", result: "succeeded")
        } catch {
            let message = (error as? VaultError)?.description ?? "\(error)"
            lock.withLock { lastReloadSucceeded = false }
            log(3, "reload", [("result", "failed"), ("kept", "previous-config"), ("error", message)])
            _ = try? audit.append(actor: "signal", action: "reload", subject: "config \(configPath)", result: "failed", details: ["error": message])
        }
        notifier.ready(status: "\(lock.withLock { policies.count }) policies")
    }

    /// Puts every policy's jobs on the scheduler, and takes off those of policies (or of verify and
    /// drill sections) a reload removed. Intervals that never ran count from the state's creation,
    /// not from this start: a daemon restarted more often than `pruneEvery` still prunes.
    func schedule() {
        let (policies, state, pruneSpec) = lock.withLock { (self.policies, self.state, config.pruneEvery) }
        let created = Date(timeIntervalSince1970: state.created ?? Date().timeIntervalSince1970)
        let date = { (t: Double?) in t.map { Date(timeIntervalSince1970: $0) } }
        var wanted = Set<String>()
        func add(_ key: String, _ schedule: Schedule, jitter: Double = 0, lastRun: Date?, retryCap: Double = 3600) {
            wanted.insert(key)
            let attempts = state.attempts?[key]
            scheduler.add(key, schedule: schedule, jitter: jitter, lastRun: lastRun, failures: attempts?.failures ?? 0,
                          lastAttempt: date(attempts?.lastStart), retryCap: retryCap)
        }
        for (name, p) in policies where !(state.disabledPolicies ?? []).contains(name) {
            guard let s = try? Schedule.parse(p.schedule) else { continue }
            let jitter = p.schedule.jitter.flatMap { try? Duration.parse($0) } ?? 0
            // Retries fit several times within the RPO: at most a quarter of it apart.
            let rpo = (try? Duration.parse(p.rpo)) ?? 3600
            add("backup:\(name)", s, jitter: jitter, lastRun: date(state.policies[name]?.lastBackupStart),
                retryCap: max(60, min(3600, rpo / 4)))
            if let v = p.verify, let every = try? Duration.parse(v.every) {
                let last = date(state.policies[name]?.lastVerifyStart) ?? created
                add("verify:\(name)", .every(seconds: every), lastRun: last)
            }
            if let d = p.restoreDrill, let every = try? Duration.parse(d.every) {
                let last = date(state.policies[name]?.lastDrillStart) ?? created
                add("drill:\(name)", .every(seconds: every), lastRun: last)
            }
        }
        let prune = pruneSpec.flatMap { try? Duration.parse($0) } ?? 86_400
        add("prune", .every(seconds: prune), lastRun: date(state.lastPrune) ?? created)
        for key in scheduler.keys.subtracting(wanted) { scheduler.remove(key) }
    }

    func openRepository() {
        let (path, credential) = lock.withLock { (config.repository, self.credential) }
        do {
            let repo = try Repository.open(try openBackend(path, limits: bandwidth.limits(path)), credential: credential)
            try repo.loadIndex()
            let snapshots = try repo.listSnapshots()
            lock.withLock {
                repositoryOpenedAt = Date(); lastContact = Date(); repositoryError = nil
                state.repositoryBytes = repo.index.storedBytes
                for name in policies.keys { state.policies[name, default: PolicyState()].snapshots = snapshots.filter { $0.snapshot.policy == name }.count }
            }
        } catch {
            let message = (error as? VaultError)?.message ?? "\(error)"
            lock.withLock { repositoryError = message; lastContact = Date() }
            log(3, "repository", [("result", "failed"), ("error", message)])
        }
    }

    // MARK: Jobs

    /// Queues a job once; returns its id (the waiting or running one if already there).
    @discardableResult
    func enqueue(_ key: String, actor: String, restore: RestoreOptions? = nil, policy restorePolicy: String? = nil,
                 detail: [String: String] = [:]) -> String {
        lock.withLock {
            if let id = jobIDForKey[key], let j = jobs[id], j.state == "queued" || j.state == "running" { return id }
            let id = Hex.encode(SecureRandom.bytes(6))
            let parts = key.split(separator: ":", maxSplits: 1)
            jobs[id] = JobRecord(id: id, kind: String(parts[0]), policy: restorePolicy ?? (parts.count > 1 && parts[0] != "restore" ? String(parts[1]) : nil),
                                 state: "queued", queued: Date().timeIntervalSince1970, detail: detail.merging(["requestedBy": actor]) { $1 })
            jobOrder.append(id)
            if jobOrder.count > 500 { jobs[jobOrder.removeFirst()] = nil }
            jobIDForKey[key] = id
            if let restore { restoreRequests[key] = restore }
            queue.enqueue(key)
            return id
        }
    }

    private func startJob(_ key: String) {
        let cancellation = Cancellation()
        lock.withLock {
            running = key
            jobCancellation = cancellation
            jobProgress = JobProgress()
            state.runningJob = key
            if scheduler.entry(key) != nil {
                // Counted before it starts: an attempt that takes the daemon down is still counted.
                var attempts = state.attempts ?? [:]
                attempts[key] = JobAttempts(failures: (attempts[key]?.failures ?? 0) + 1, lastStart: Date().timeIntervalSince1970)
                state.attempts = attempts
            }
            jobsStarted += 1
            try? state.save(stateDirectory + "/state.json")
            if let id = jobIDForKey[key] { jobs[id]?.state = "running"; jobs[id]?.started = Date().timeIntervalSince1970 }
        }
        scheduler.ran(key, at: Date())
        jobStarted(key, id: lock.withLock { jobIDForKey[key] })
        notifier.status("running \(key)")
        let t = Thread { [self] in
            execute(key, cancellation: cancellation)
            jobDone.signal()
        }
        t.name = "job"
        t.stackSize = 4 << 20
        jobThread = t
        t.start()
    }
}
