import Glibc
import VaultCore

/// The bearer token `chainvault health` presents to `/v1/status`, which needs the `monitor` role
/// (issue 14). It comes from a file only: a token on the command line or in an environment
/// variable's value is readable by every local user in `/proc/PID/cmdline` or by the process's
/// children, while a file keeps its own permissions.
public enum MonitorToken {
    /// The variable that names the token file (never holds the token itself).
    public static let environmentVariable = "CHAINVAULT_TOKEN_FILE"
    /// The credential a unit that runs the check loads: `LoadCredential=monitor.token:FILE`.
    public static let credentialName = "monitor.token"
    /// What to do when the daemon asks for a token: every way to give one.
    public static let ways =
        "pass --token-file FILE, set \(environmentVariable)=FILE, or load the credential "
        + "\(credentialName) (FILE holds a token the daemon's \"tokens\" give the role monitor)"

    /// Where the token file is, with how it was named (for messages), or nil when none is given:
    /// `--token-file`, else the file the environment variable names, else the unit's credential
    /// when the unit loaded one.
    public static func locate(option: String?, env: [String: String]) -> (path: String, described: String)? {
        if let option { return (option, "token file \(option)") }
        if let named = env[environmentVariable], !named.isEmpty {
            return (named, "token file \(named) (named by \(environmentVariable))")
        }
        if let directory = env["CREDENTIALS_DIRECTORY"], !directory.isEmpty {
            let path = directory + "/" + credentialName
            if (try? Posix.lstat(path)) != nil {
                return (path, "token file \(path) (the credential \(credentialName))")
            }
        }
        return nil
    }

    /// The token: the file's bytes without trailing white space. Refused when every local user
    /// may read or write the file (group access is how a monitoring user gets it, so it stays
    /// allowed), when it is larger than a token can be, or when it holds bytes a header cannot carry.
    public static func read(_ path: String, described: String) throws -> [UInt8] {
        guard try Posix.lstat(path) != nil else {
            throw VaultError(.usage, "\(described) does not exist", hint: "check the path, or create the token file")
        }
        let fd = try FileDescriptor.open(path, O_RDONLY, code: .usage)
        // Checked on the descriptor that is read, so a name swapped meanwhile does not matter.
        let info = try fd.status(path: path)
        if info.st_mode & 0o007 != 0 {
            throw VaultError(
                .insecureFile,
                "\(described) is readable or writable by every local user (mode "
                    + String(info.st_mode & 0o777, radix: 8) + ")",
                hint: "run 'chmod o-rwx \(path)' (the monitoring user may read it through its group)")
        }
        // A token is tens of bytes; 4 KiB is far beyond any and keeps a wrong path from being read whole.
        guard info.st_size <= 4096 else {
            throw VaultError(
                .usage, "\(described) is \(info.st_size) bytes, more than a token can be",
                hint: "check the path: it should name a small file holding only the token")
        }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        let n = try bytes.withUnsafeMutableBytes {
            try Posix.pread(fd.rawValue, $0, offset: 0, path: path, code: .usage)
        }
        bytes.removeSubrange(n...)
        while let last = bytes.last, last == 10 || last == 13 || last == 32 || last == 9 { bytes.removeLast() }
        // Visible ASCII only: anything else (a line break above all) would end the header early.
        guard !bytes.isEmpty, bytes.allSatisfy({ (33...126).contains($0) }) else {
            throw VaultError(
                .usage, "\(described) holds no token (it must be one line of visible ASCII)",
                hint: "write the token the daemon's config names for the monitor role into it")
        }
        return bytes
    }
}
