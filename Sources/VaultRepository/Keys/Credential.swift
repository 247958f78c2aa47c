import Glibc
import VaultCore

/// What an operator holds to open a repository: a passphrase (from a file, never the command
/// line) or a raw key file (for example a systemd credential).
public enum Credential {
    case password(SecretBytes)
    case keyFile(SecretBytes)

    public var kind: String {
        switch self {
        case .password: return "password"
        case .keyFile: return "keyfile"
        }
    }

    /// A passphrase file: its first line, without the line ending.
    public static func passwordFile(_ path: String) throws -> Credential {
        var bytes = try readSecretFile(path, what: "password file")
        if let newline = bytes.firstIndex(where: { $0 == 10 || $0 == 13 }) {
            var first = Array(bytes[..<newline])
            wipe(&bytes)
            bytes = first
            wipe(&first)
        }
        guard !bytes.isEmpty else {
            throw VaultError(.usage, "password file \(path) is empty", hint: "write the passphrase on its first line")
        }
        return .password(SecretBytes(consuming: &bytes))
    }

    /// A key file: a text key (only printable ASCII and white space, such as the hex that
    /// `key generate` writes) without its trailing white space, so an editor's final newline does
    /// not change it; a binary key exactly as it is (its last byte may well be 0x0A). At least 32
    /// bytes either way.
    public static func keyFile(_ path: String) throws -> Credential {
        var bytes = try readSecretFile(path, what: "key file")
        if isText(bytes) {
            while let last = bytes.last, last == 10 || last == 13 || last == 32 || last == 9 { bytes.removeLast() }
        }
        guard bytes.count >= 32 else {
            throw VaultError(.usage, "key file \(path) holds \(bytes.count) bytes; at least 32 are needed",
                             hint: "create one with 'chainvault key generate --output \(path)'")
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
        let fd = try Posix.open(path, O_RDONLY, code: .usage)
        defer { Posix.close(fd) }
        try checkPrivate(try Posix.fstat(fd, path: path), path: path, what: what)
        guard info.st_size <= 1 << 20 else {
            throw VaultError(.usage, "\(what) \(path) is \(info.st_size) bytes, more than a key or passphrase can be",
                             hint: "check the path: it should name a small file holding only the secret")
        }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        let n = try bytes.withUnsafeMutableBytes { try Posix.pread(fd, $0, offset: 0, path: path, code: .usage) }
        bytes.removeSubrange(n...)
        return bytes
    }

    /// Mode 0600 or stricter, and owned by this user or root: a file that another local user owns
    /// is theirs to rewrite (a key they chose) whatever its mode says today.
    static func checkPrivate(_ info: stat, path: String, what: String) throws {
        if info.st_mode & 0o077 != 0 {
            throw VaultError(.insecureFile, "\(what) \(path) is readable or writable by other users (mode \(String(info.st_mode & 0o777, radix: 8)))",
                             hint: "run 'chmod 600 \(path)'")
        }
        let me = geteuid()
        if info.st_uid != me && info.st_uid != 0 {
            throw VaultError(.insecureFile, "\(what) \(path) is owned by another user (uid \(info.st_uid)), not by uid \(me) or root",
                             hint: "a key another user owns is theirs to replace: run 'chown \(me) \(path)' if you trust its contents, else create a new one")
        }
    }
}
