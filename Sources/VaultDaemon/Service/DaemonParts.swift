import Foundation
import Synchronization
import VaultCore
import VaultEngine
import VaultRepository

/// The daemon's state, in parts that each have one owner and their own lock: no lock is taken
/// while another is held, and none is held across I/O that can block (the repository, hooks, HTTP).

/// What the config and the policies say, and the secrets they name: set at start and swapped whole
/// by a reload (the loop), read by everyone.
struct DaemonSettings: Sendable {
    var config: DaemonConfig
    var policies: [String: Policy]
    var credential: Credential
    var apiTokens: APITokens
}

/// The loop's own (Daemon+Loop.swift): whether the repository is reachable, the loop's heartbeat,
/// reloads, and the lateness alerts already sent.
struct LoopState {
    var repositoryOpenedAt: Date?
    var repositoryError: String?
    var lastContact: Date?
    var lastTick = Date()
    var stopping = false
    var reloadRequested = false
    var reloads = 0
    /// The last reload (or the start, which is the first load): whether it worked, and when one last did.
    var lastReloadSucceeded = true
    var lastReloadSuccess = Date().timeIntervalSince1970
    /// Policies a `late` webhook event was sent for, until their next good backup.
    var lateNotified = Set<String>()
}

/// The job runner's own (Daemon+JobRunner.swift): the records the API shows, which key each
/// belongs to, the one running job with its cancellation and progress.
struct JobBook {
    var records: [String: JobRecord] = [:]
    /// Record ids, oldest first: at most 500 are kept.
    var order: [String] = []
    var idForKey: [JobKind: String] = [:]
    var restoreRequests: [JobKind: RestoreOptions] = [:]
    var running: JobKind?
    var cancellation = Cancellation()
    var progress: JobProgress?
    /// Jobs started and finished since this start: tests and monitors wait on these, not on time.
    var started = 0
    var finished = 0

    /// The record of `key`'s latest job.
    func record(_ key: JobKind) -> JobRecord? { idForKey[key].flatMap { records[$0] } }
}

/// `<state>/state.json` and its copy in memory. Every change goes through `update`; `save` writes
/// the file atomically (the jobs save after each step they must not lose).
final class StateStore: Sendable {
    let path: String
    private let current: Mutex<DaemonState>

    init(path: String) {
        self.path = path
        current = Mutex(DaemonState.load(path))
    }

    func read<T>(_ body: (DaemonState) -> T) -> T { current.withLock { body($0) } }

    @discardableResult
    func update<T>(save: Bool = false, _ body: (inout DaemonState) -> T) -> T {
        current.withLock { state in
            let result = body(&state)
            if save { try? state.save(path) }
            return result
        }
    }

    func save() throws { try current.withLock { try $0.save(path) } }
}
