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

    func repositoryPath() throws -> String {
        guard let repo = args.value("--repo") ?? environment["CHAINVAULT_REPOSITORY"], !repo.isEmpty else {
            throw VaultError(.usage, "no repository given", hint: "pass --repo PATH or set CHAINVAULT_REPOSITORY")
        }
        return repo
    }

    func backend() throws -> Backend {
        try openBackend(try repositoryPath(), environment: environment)
    }

    /// --key-file, --password-file, CHAINVAULT_KEY_FILE, CHAINVAULT_PASSWORD_FILE, then the systemd
    /// credential $CREDENTIALS_DIRECTORY/chainvault.key. Never a secret on the command line.
    func credential() throws -> Credential {
        if let k = args.value("--key-file") { return try Credential.keyFile(k) }
        if let p = args.value("--password-file") { return try Credential.passwordFile(p) }
        if let k = environment["CHAINVAULT_KEY_FILE"], !k.isEmpty { return try Credential.keyFile(k) }
        if let p = environment["CHAINVAULT_PASSWORD_FILE"], !p.isEmpty { return try Credential.passwordFile(p) }
        if let dir = environment["CREDENTIALS_DIRECTORY"], (try? Posix.lstat(dir + "/chainvault.key")) != nil {
            return try Credential.keyFile(dir + "/chainvault.key")
        }
        throw VaultError(.usage, "no key given",
                         hint: "pass --key-file FILE or --password-file FILE (or set CHAINVAULT_KEY_FILE / CHAINVAULT_PASSWORD_FILE, or LoadCredential=chainvault.key under systemd)")
    }

    func openRepository() throws -> Repository {
        let b = try backend()
        let repo = try Repository.open(b, credential: try credential())
        (b as? LocalBackend)?.removeStaleTemporaries()
        return repo
    }

    /// Acquires a lock, reporting stale locks it removed.
    func lock(_ repository: Repository, exclusive: Bool) throws -> RepositoryLock {
        let lock = try RepositoryLock.acquire(repository.backend, exclusive: exclusive, command: command)
        for s in lock.removedStale { out.warning("removed a stale lock: \(s)") }
        return lock
    }

    /// Runs a job with a progress line on a terminal, removed when the job ends however it ends.
    func withProgress<T>(_ verb: String, _ body: (JobProgress) throws -> T) rethrows -> T {
        let progress = JobProgress()
        out.startProgress(progress, verb: verb)
        defer { out.stopProgress() }
        return try body(progress)
    }
}

protocol Command {
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
  --json                 machine-readable output on stdout
  --quiet                only errors
  --no-progress          no progress line on a terminal
"""
