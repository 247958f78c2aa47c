import Glibc
import Synchronization
import VaultCore
import VaultRepository

/// Where an operator's secret comes from on the command line (`--operator-key`,
/// `--operator-password` and their `--new-` forms): `NAME=FILE`; `NAME=-`, stdin, so that a
/// passphrase at a recovery ceremony is typed (without echo on a terminal) and never written to a
/// file; or `NAME` alone, the systemd credential `$CREDENTIALS_DIRECTORY/NAME` (`LoadCredential=`).
/// Stdin holds one secret: a second `NAME=-` in the same command is refused.
final class OperatorSecrets: Sendable {
    /// The `NAME=-` that has claimed stdin, if one has (checked across all of a command's options).
    private let stdinTakenBy = Mutex<String?>(nil)

    /// The most a passphrase or key read from stdin may be: what `readSecretFile` allows a file.
    static let stdinLimit = 1 << 20

    /// Each given `(text, password, option)`; stdin is claimed before anything is read, so a
    /// second `NAME=-` is refused before the first one's secret is taken from stdin.
    func parse(
        _ given: [(text: String, password: Bool, option: String)],
        environment: [String: String]
    ) throws -> [OperatorKey] {
        for g in given where g.text.hasSuffix("=-") { try claimStdin(g.text) }
        return try given.map { try parse($0.text, password: $0.password, option: $0.option, environment: environment) }
    }

    private func claimStdin(_ text: String) throws {
        try stdinTakenBy.withLock { taken in
            if let taken {
                throw VaultError(
                    .usage, "stdin can hold the secret of one operator only: \(taken) and \(text) both ask for it",
                    hint: "give the other operators' secrets as NAME=FILE, or as NAME alone for a systemd "
                        + "credential in $CREDENTIALS_DIRECTORY")
            }
            taken = text
        }
    }

    private func parse(_ text: String, password: Bool, option: String, environment: [String: String]) throws
        -> OperatorKey
    {
        guard let eq = text.firstIndex(of: "=") else {
            return try fromCredentialDirectory(text, password: password, option: option, environment: environment)
        }
        let name = String(text[..<eq]), source = String(text[text.index(after: eq)...])
        guard source == "-", OperatorKey.isValidName(name) else {
            return try OperatorKey.parse(text, password: password, option: option)
        }
        let what = password ? "the passphrase of operator \(name) from stdin" : "the key of operator \(name) from stdin"
        var bytes = try Self.readStdin(
            prompt: password ? "passphrase of operator \(name): " : "key of operator \(name): ",
            what: what)
        let credential =
            password
            ? try Credential.password(
                &bytes, what: what, emptyHint: "type the passphrase, or pipe it in: " + "\(option) \(name)=- < FILE")
            : try Credential.key(
                &bytes, what: what, shortHint: "pipe the operator's key file in: \(option) \(name)=- < FILE")
        return try OperatorKey(name: name, credential: credential)
    }

    private func fromCredentialDirectory(
        _ name: String, password: Bool, option: String,
        environment: [String: String]
    ) throws -> OperatorKey {
        guard OperatorKey.isValidName(name) else {
            return try OperatorKey.parse(name, password: password, option: option)
        }
        guard let dir = environment["CREDENTIALS_DIRECTORY"], !dir.isEmpty else {
            throw VaultError(
                .usage, "\(option) \(name) names no file, and $CREDENTIALS_DIRECTORY is not set",
                hint: "give \(option) \(name)=FILE, \(name)=- to read it from stdin, or run under systemd "
                    + "with LoadCredential=\(name):PATH")
        }
        let path = dir + "/" + name
        return try OperatorKey(name: name, credential: password ? try .passwordFile(path) : try .keyFile(path))
    }

    /// Stdin's bytes: on a terminal one line typed without echo (after `prompt` on stderr),
    /// otherwise everything up to its end (a key may be binary), at most `stdinLimit` bytes.
    static func readStdin(prompt: String, what: String) throws -> [UInt8] {
        let terminal = isatty(0) == 1
        var saved = termios()
        if terminal {
            FileHandleStderr.write(prompt)
            tcgetattr(0, &saved)
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(0, TCSAFLUSH, &quiet)
        }
        defer { if terminal { tcsetattr(0, TCSAFLUSH, &saved); FileHandleStderr.write("\n") } }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        defer { wipe(&buffer) }
        while bytes.count <= stdinLimit {
            let n = read(0, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n < 0 {
                wipe(&bytes)
                throw VaultError(
                    .usage, "cannot read \(what)", cause: Errno.current,
                    hint: "pipe the secret in, or give it as NAME=FILE")
            }
            if n == 0 { break }
            bytes += buffer[0..<n]
            // A terminal gives a line at a time: the first one is the passphrase.
            if terminal && bytes.contains(10) { break }
        }
        guard bytes.count <= stdinLimit else {
            wipe(&bytes)
            throw VaultError(
                .usage, "\(what) is more than \(stdinLimit) bytes, more than a key or passphrase can be",
                hint: "pipe only the secret in")
        }
        return bytes
    }
}
