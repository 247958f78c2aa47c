import Foundation
import Glibc
import VaultCore
import VaultEngine
import VaultRepository
import VaultStorage

/// Everything a command needs from the command line and environment.
struct Context {
    let command: String
    let args: Arguments
    let out: Output
    let cancellation: Cancellation
    let environment = ProcessInfo.processInfo.environment
    private let bandwidth = BandwidthOptions()
    let operatorSecrets = OperatorSecrets()

    func repositoryPath() throws -> String {
        guard let repo = args.value("--repo") ?? environment["CHAINVAULT_REPOSITORY"], !repo.isEmpty else {
            throw VaultError(.usage, "no repository given", hint: "pass --repo PATH or set CHAINVAULT_REPOSITORY")
        }
        return repo
    }

    func backend() throws -> Backend {
        try openBackend(try repositoryPath(), environment: environment, appendOnly: appendOnly, limits: try limits())
    }

    /// --limit-upload / --limit-download KiB/s: one pair of buckets for the whole command, shared
    /// by every backend it opens (copy's source and destination) and all their threads.
    func limits() throws -> BandwidthLimits { try bandwidth.limits(args, cancellation: cancellation) }

    /// --append-only or CHAINVAULT_APPEND_ONLY=1: this client never deletes (AppendOnly).
    var appendOnly: Bool { args.has("--append-only") || environment["CHAINVAULT_APPEND_ONLY"] == "1" }

    /// --key-file, --password-file, CHAINVAULT_KEY_FILE, CHAINVAULT_PASSWORD_FILE, then the systemd
    /// credential $CREDENTIALS_DIRECTORY/chainvault.key. Never a secret on the command line.
    func credential() throws -> Credential {
        if let operators = try operatorKeys() { return .operators(operators) }
        if let k = args.value("--key-file") { return try Credential.keyFile(k) }
        if let p = args.value("--password-file") { return try Credential.passwordFile(p) }
        if let k = environment["CHAINVAULT_KEY_FILE"], !k.isEmpty { return try Credential.keyFile(k) }
        if let p = environment["CHAINVAULT_PASSWORD_FILE"], !p.isEmpty { return try Credential.passwordFile(p) }
        if let dir = environment["CREDENTIALS_DIRECTORY"], (try? Posix.lstat(dir + "/chainvault.key")) != nil {
            return try Credential.keyFile(dir + "/chainvault.key")
        }
        throw VaultError(
            .usage, "no key given",
            hint:
                "pass --key-file FILE or --password-file FILE (or set CHAINVAULT_KEY_FILE / CHAINVAULT_PASSWORD_FILE, or LoadCredential=chainvault.key under systemd)"
        )
    }

    /// --operator-key NAME=FILE / --operator-password NAME=FILE, each once per operator, for a
    /// recovery ceremony that opens a threshold key (NAME=- and NAME alone: OperatorSecrets);
    /// nil when none is given.
    func operatorKeys() throws -> [OperatorKey]? {
        let given = args.all("--operator-key").map { ($0, false) } + args.all("--operator-password").map { ($0, true) }
        guard !given.isEmpty else { return nil }
        guard args.value("--key-file") == nil, args.value("--password-file") == nil else {
            throw VaultError(
                .usage, "operator keys and --key-file/--password-file cannot be given together",
                hint: "open with one key, or with the operators' keys of a threshold key")
        }
        let keys = try operatorSecrets.parse(
            given.map { ($0.0, $0.1, $0.1 ? "--operator-password" : "--operator-key") },
            environment: environment)
        try OperatorKey.checkDistinct(keys)
        return keys
    }

    func openRepository() throws -> Repository {
        let b = try backend()
        let repo = try Repository.open(b, credential: try credential())
        for w in repo.openWarnings { out.warning(w) }
        (b.unthrottled as? LocalBackend)?.removeStaleTemporaries()
        return repo
    }

    /// Acquires a lock for a command that writes, reporting stale locks it removed. The repository
    /// confirms it before each commit.
    func lock(_ repository: Repository, exclusive: Bool) throws -> RepositoryLock {
        if args.has("--no-lock") {
            throw VaultError(
                .usage, "--no-lock is only for commands that only read (restore, verify)",
                hint: "'\(command)' writes to the repository and must hold a lock; "
                    + "run it without --no-lock")
        }
        let lock: RepositoryLock
        do {
            lock = try LockRetry(args).attempt(exclusive ? "exclusive" : "shared", out: out, cancellation: cancellation)
            {
                try repository.lock(exclusive: exclusive, command: command)
            }
        } catch {
            guard repository.isWriteRefusal(error) else { throw error }
            let e = VaultError.wrap(error, .storageFailure, "cannot write a lock")
            throw VaultError(
                e.code,
                "\(repository.location) refuses writes (read-only), and \(command) must write to it",
                cause: e,
                hint: "mount it read-write or use credentials that may write; "
                    + "restore, verify, snapshots and ls work on a read-only repository")
        }
        for s in lock.removedStale { out.warning("removed a stale lock: \(s)") }
        return lock
    }

    /// A shared lock for a command that only reads, or none: with --no-lock, or when the repository
    /// refuses the lock write (read-only mount or credentials). Without one, a concurrent prune is
    /// not kept out, which the warning says.
    func readLock(_ repository: Repository) throws -> RepositoryLock? {
        if args.has("--no-lock") {
            out.warning(
                "running without a lock (--no-lock): a concurrent prune is not excluded "
                    + "and may delete data this \(command) reads")
            return nil
        }
        let taken = try LockRetry(args).attempt("shared", out: out, cancellation: cancellation) {
            try repository.lockForReading(command: command)
        }
        guard let lock = taken else {
            out.warning(
                "\(repository.location) refuses writes (read-only), so \(command) runs without a lock: "
                    + "a concurrent prune is not excluded")
            return nil
        }
        for s in lock.removedStale { out.warning("removed a stale lock: \(s)") }
        return lock
    }

    /// Runs a job with progress on stderr (`ProgressReporter`): a line on a terminal, removed when
    /// the job ends however it ends; elsewhere lines every interval and a final one on success.
    func withProgress<T>(_ verb: String, _ body: (JobProgress) throws -> T) throws -> T {
        // Nobody sees a total without a reporter: a first backup then skips its size walk.
        let progress = JobProgress(totalWanted: !out.quiet && !args.has("--no-progress"))
        let reporter = try ProgressReporter(progress, verb: verb, out: out, args: args, environment: environment)
        out.reporter = reporter
        var succeeded = false
        defer { reporter?.stop(succeeded: succeeded); out.reporter = nil }
        let result = try body(progress)
        succeeded = true
        return result
    }
}

/// SendableMetatype: the command table (`commands`) is a global read from any thread.
protocol Command: SendableMetatype {
    static var name: String { get }
    static var summary: String { get }
    static var help: String { get }
    static var spec: ArgumentSpec { get }
    static func run(_ context: Context) throws -> Int32
}

let globalHelp = """
    Global options:
      --repo PATH            repository (or CHAINVAULT_REPOSITORY)
      --key-file FILE        raw key file, 32+ bytes, mode 0600 (or CHAINVAULT_KEY_FILE,
                             or $CREDENTIALS_DIRECTORY/chainvault.key)
      --password-file FILE   passphrase on the first line (or CHAINVAULT_PASSWORD_FILE)
      --operator-key NAME=FILE, --operator-password NAME=FILE
                             one operator's key file or passphrase, once for each of the M
                             operators who open a threshold key (see 'chainvault key');
                             NAME=- reads it from stdin (one operator only; typed without
                             echo on a terminal), NAME alone reads $CREDENTIALS_DIRECTORY/NAME
      --json                 machine-readable output on stdout
      --quiet                only errors
      --no-progress          no progress line on a terminal
      --progress-interval DURATION
                             progress as plain lines on stderr every DURATION (also
                             CHAINVAULT_PROGRESS_INTERVAL; default 60s when stderr is not a
                             terminal), JSON records with --json, and a final line at the end
      --append-only          never delete anything (a node whose credential may not delete);
                             forget, prune and unlock then run on another host
      --no-lock              read without taking a lock (restore, verify): a concurrent
                             prune is then not excluded
      --retry-lock DURATION  when the repository is locked, wait and retry (with backoff) for
                             up to DURATION (30s, 5m) before failing with exit 12
      --limit-upload KIB     send at most KIB KiB/s to repositories (all threads together)
      --limit-download KIB   receive at most KIB KiB/s from repositories
    """
