import Dispatch
import Foundation
import Glibc
import Synchronization
import VaultCore
import VaultEngine
import VaultRepository
import VaultStorage

/// The service: loads config and policies, keeps every policy's jobs on schedule (one at a time),
/// serves health, metrics and the API, talks to systemd, and writes the audit log.
/// Every job is the same code an operator runs by hand. Three parts, each with its own state
/// behind its own lock (DaemonParts.swift): the loop (Daemon+Loop.swift: schedule, queue, reload,
/// SIGTERM; `loop`), the job runner (Daemon+JobRunner.swift: start, run, record; Daemon+Jobs.swift:
/// what each kind does; `book`, and `state` for what survives a restart) and the API
/// (APIRoutes.swift and the files it calls; `approvals`). `settings` is what a reload swaps.
/// Every stored property is a constant: the compiler checks `Sendable`.
public final class Daemon: Sendable {
    public static let version = chainvaultVersion

    let configPath: String
    let environment: [String: String]
    let stateDirectory: String
    let settings: Mutex<DaemonSettings>
    let state: StateStore
    let audit: AuditLog
    let bandwidth = DaemonBandwidth()

    // The loop.
    let stopRequested: Cancellation
    let loop = Mutex(LoopState())
    let scheduler = Scheduler<JobKind>(clock: SystemClock())
    let queue = JobQueue<JobKind>()

    // The job runner.
    let book = Mutex(JobBook())
    let jobDone = DispatchSemaphore(value: 0)

    // The API: pending approvals (the tokens are settings).
    let approvals: Mutex<ApprovalStore>
    let approvalClock: any WallClock

    // Talking to the outside: systemd, the journal, webhooks, the readiness probe.
    let notifier: SystemdNotifier
    let logger: DaemonLogger
    let webhooks: WebhookDispatcher
    let probe = Mutex<ReadinessProbe?>(nil)

    var config: DaemonConfig { settings.withLock { $0.config } }
    var policies: [String: Policy] { settings.withLock { $0.policies } }
    var credential: Credential { settings.withLock { $0.credential } }
    var apiTokens: APITokens { settings.withLock { $0.apiTokens } }

    /// Loads everything or throws: a daemon that cannot read its config must not start.
    public init(
        configPath: String, environment: [String: String] = ProcessInfo.processInfo.environment,
        stopRequested: Cancellation
    ) throws {
        self.configPath = configPath
        self.environment = environment
        self.stopRequested = stopRequested
        notifier = SystemdNotifier(environment: environment)
        logger = DaemonLogger(environment: environment)
        webhooks = WebhookDispatcher(logger: logger)
        let (config, policies) = try Self.loadConfiguration(configPath)
        webhooks.configure(try Self.webhookTargets(config, environment))
        bandwidth.configure(config.bandwidth, repository: config.repository, policies: policies)
        let stateDirectory = config.stateDirectoryPath(environment: environment)
        self.stateDirectory = stateDirectory
        try Posix.mkdirs(stateDirectory, mode: 0o750)
        state = StateStore(path: stateDirectory + "/state.json")
        audit = AuditLog(path: stateDirectory + "/audit.log")
        settings = Mutex(
            DaemonSettings(
                config: config, policies: policies, credential: try Self.credential(config, environment),
                apiTokens: try Self.apiTokens(config, environment)))
        approvals = Mutex(ApprovalStore(path: stateDirectory + "/approvals.json"))
        approvalClock = ApprovalClock(offsetFile: environment["CHAINVAULT_TEST_CLOCK_FILE"])
        let killed = state.update { state -> String? in
            if state.created == nil { state.created = Date().timeIntervalSince1970 }
            guard let killed = state.runningJob else { return nil }
            // The previous daemon died during this job (SIGKILL, power loss, a crash on the job
            // thread): say so, once. Interrupted, not failed: the job is retried after its backoff.
            state.runningJob = nil
            if case .backup(let name)? = JobKind(killed) {
                state.policies[name, default: PolicyState()].lastOutcome = JobState.interrupted.rawValue
                state.policies[name, default: PolicyState()].lastError = Self.killedJobError
                let before = state.policies[name]?.runsInterrupted ?? 0
                state.policies[name, default: PolicyState()].runsInterrupted = before + 1
            }
            return killed
        }
        if let killed {
            // A key this version does not know (an edited or newer state file) is still recorded, as it reads.
            let action = JobKind(killed)?.action ?? String(killed.prefix { $0 != ":" })
            _ = try? audit.append(
                actor: "daemon", action: action, subject: killed,
                result: JobState.interrupted.rawValue, details: ["error": Self.killedJobError])
        }
        try? state.save()
    }

    static let killedJobError = "interrupted (the daemon stopped during the job)"

    static func loadConfiguration(_ path: String) throws -> (DaemonConfig, [String: Policy]) {
        let config = try DaemonConfig.load(path)
        let names = try DirectoryListing.names(config.policies).filter { $0.hasSuffix(".json") }.sorted()
        guard !names.isEmpty else {
            throw VaultError(
                .usage, "no policies (*.json) in \(config.policies)",
                hint: "copy one from Policies/ and adapt its source path")
        }
        var policies: [String: Policy] = [:]
        for name in names {
            let p = try PolicyLoader.load(config.policies + "/" + name)
            if policies[p.name] != nil {
                throw VaultError(.usage, "two policies are named \(p.name)", hint: "names must be unique")
            }
            policies[p.name] = p
        }
        return (config, policies)
    }

    static func credential(_ config: DaemonConfig, _ env: [String: String]) throws -> Credential {
        if let k = config.keyFile { return try Credential.keyFile(k) }
        if let p = config.passwordFile { return try Credential.passwordFile(p) }
        if let dir = env["CREDENTIALS_DIRECTORY"] { return try Credential.keyFile(dir + "/chainvault.key") }
        throw VaultError(
            .usage, "the config names no key",
            hint: "set keyFile or passwordFile, or LoadCredential=chainvault.key in the unit")
    }

    /// The API tokens, and the approval rules checked against the admin tokens they name.
    static func apiTokens(_ config: DaemonConfig, _ env: [String: String]) throws -> APITokens {
        let tokens = try APITokens.load(config, env)
        let admins = Set(tokens.entries.filter { $0.role == .admin }.map(\.name))
        let problems = (config.approvals ?? [:]).sorted { $0.key < $1.key }.flatMap { action, rule in
            rule.problems(admins: admins).map { "approvals.\(action): \($0)" }
        }
        guard problems.isEmpty else {
            throw VaultError(
                .usage, "the approval rules cannot be met:\n  " + problems.joined(separator: "\n  "),
                hint: "name admin tokens in 'tokens' and in each rule's 'of', with 'required' at most their number")
        }
        return tokens
    }

    func log(_ priority: Int, _ event: String, _ fields: [(String, String)] = []) {
        logger.log(priority, event, fields)
    }
}
