import Glibc
import VaultCore

/// What an operator holds to open a repository: a passphrase (from a file, never the command
/// line) or a raw key file (for example a systemd credential), or for a recovery ceremony the
/// keys of several named operators, which open only a threshold key (ThresholdKey.swift).
public enum Credential: Sendable {
    case password(SecretBytes)
    case keyFile(SecretBytes)
    case operators([OperatorKey])

    public var kind: String {
        switch self {
        case .password: return "password"
        case .keyFile: return "keyfile"
        case .operators: return "threshold"
        }
    }

    /// A passphrase file: its first line, without the line ending.
    public static func passwordFile(_ path: String) throws -> Credential {
        var bytes = try readSecretFile(path, what: "password file")
        return try password(&bytes, what: "password file \(path)", emptyHint: "write the passphrase on its first line")
    }

    /// A passphrase given as bytes (a file's or stdin's): the first line, without the line
    /// ending; `bytes` is wiped. `what` names the source in the error when the line is empty.
    public static func password(_ bytes: inout [UInt8], what: String, emptyHint: String) throws -> Credential {
        if let newline = bytes.firstIndex(where: { $0 == 10 || $0 == 13 }) {
            var first = Array(bytes[..<newline])
            wipe(&bytes)
            bytes = first
            wipe(&first)
        }
        guard !bytes.isEmpty else { throw VaultError(.usage, "\(what) is empty", hint: emptyHint) }
        return .password(SecretBytes(consuming: &bytes))
    }

    /// A key file: a text key (only printable ASCII and white space, such as the hex that
    /// `key generate` writes) without its trailing white space, so an editor's final newline does
    /// not change it; a binary key exactly as it is (its last byte may well be 0x0A). At least 32
    /// bytes either way.
    public static func keyFile(_ path: String) throws -> Credential {
        var bytes = try readSecretFile(path, what: "key file")
        return try key(
            &bytes, what: "key file \(path)", shortHint: "create one with 'chainvault key generate --output \(path)'")
    }

    /// A key given as bytes (a file's or stdin's), read as `keyFile` reads them; `bytes` is
    /// consumed. `what` names the source in the error when it is too short.
    public static func key(_ bytes: inout [UInt8], what: String, shortHint: String) throws -> Credential {
        if isText(bytes) {
            while let last = bytes.last, last == 10 || last == 13 || last == 32 || last == 9 { bytes.removeLast() }
        }
        guard bytes.count >= 32 else {
            let count = bytes.count
            wipe(&bytes)
            throw VaultError(.usage, "\(what) holds \(count) bytes; at least 32 are needed", hint: shortHint)
        }
        return .keyFile(SecretBytes(consuming: &bytes))
    }

    static func isText(_ bytes: [UInt8]) -> Bool {
        bytes.allSatisfy { (32...126).contains($0) || $0 == 10 || $0 == 13 || $0 == 9 }
    }

    /// Refuses files that others can read: a key readable by every local user is no key.
    static func readSecretFile(_ path: String, what: String) throws -> [UInt8] {
        guard let st = try Posix.lstat(path) else {
            throw VaultError(.usage, "\(what) \(path) does not exist", hint: "check the path, or create it")
        }
        var info = st
        if (st.st_mode & S_IFMT) == S_IFLNK { _ = stat(path, &info) }
        try checkPrivate(info, path: path, what: what)
        // Checked again on the descriptor that is read: the name may have been swapped meanwhile.
        let fd = try FileDescriptor.open(path, O_RDONLY, code: .usage)
        try checkPrivate(try fd.status(path: path), path: path, what: what)
        guard info.st_size <= 1 << 20 else {
            throw VaultError(
                .usage, "\(what) \(path) is \(info.st_size) bytes, more than a key or passphrase can be",
                hint: "check the path: it should name a small file holding only the secret")
        }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        let n = try bytes.withUnsafeMutableBytes {
            try Posix.pread(fd.rawValue, $0, offset: 0, path: path, code: .usage)
        }
        bytes.removeSubrange(n...)
        return bytes
    }

    /// Mode 0600 or stricter, and owned by this user or root: a file that another local user owns
    /// is theirs to rewrite (a key they chose) whatever its mode says today.
    static func checkPrivate(_ info: stat, path: String, what: String) throws {
        if info.st_mode & 0o077 != 0 {
            throw VaultError(
                .insecureFile,
                "\(what) \(path) is readable or writable by other users (mode \(String(info.st_mode & 0o777, radix: 8)))",
                hint: "run 'chmod 600 \(path)'")
        }
        let me = geteuid()
        if info.st_uid != me && info.st_uid != 0 {
            throw VaultError(
                .insecureFile,
                "\(what) \(path) is owned by another user (uid \(info.st_uid)), not by uid \(me) or root",
                hint:
                    "a key another user owns is theirs to replace: run 'chown \(me) \(path)' if you trust its contents, else create a new one"
            )
        }
    }
}

/// One operator's share of a recovery ceremony: their name in the threshold key and their own
/// passphrase or key file.
public struct OperatorKey: Sendable {
    public let name: String
    public let credential: Credential

    public init(name: String, credential: Credential) throws {
        guard OperatorKey.isValidName(name) else { throw OperatorKey.nameError(name) }
        if case .operators = credential { preconditionFailure("an operator's key is a passphrase or a key file") }
        self.name = name; self.credential = credential
    }

    /// Names are joined with "," into the slot labels (FORMAT.md §2.1), so they never hold one.
    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        return (1...32).contains(bytes.count)
            && bytes.allSatisfy {
                (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)
                    || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D
            }
    }

    static func nameError(_ name: String) -> VaultError {
        VaultError(
            .usage, "operator name '\(name)' is not 1 to 32 letters, digits, '.', '_' or '-'",
            hint: "name each operator like a user name, e.g. alice=/path/to/alice.key")
    }

    /// `NAME=FILE` as given on the command line, read as a key file or a password file.
    public static func parse(_ text: String, password: Bool, option: String) throws -> OperatorKey {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex, text.index(after: eq) != text.endIndex else {
            throw VaultError(
                .usage, "\(option) needs NAME=FILE, got '\(text)'",
                hint: "e.g. \(option) alice=/media/alice/alice.key")
        }
        let name = String(text[..<eq]), path = String(text[text.index(after: eq)...])
        guard isValidName(name) else { throw nameError(name) }
        return try OperatorKey(name: name, credential: password ? try .passwordFile(path) : try .keyFile(path))
    }

    /// Refuses an operator named twice: one person's key must not count as two of the M.
    public static func checkDistinct(_ keys: [OperatorKey]) throws {
        var seen = Set<String>()
        for k in keys where !seen.insert(k.name).inserted {
            throw VaultError(
                .usage, "operator \(k.name) is given more than once",
                hint: "give each operator's key once; M different operators open a threshold key")
        }
    }
}
