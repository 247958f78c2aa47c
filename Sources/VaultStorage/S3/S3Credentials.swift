import Foundation
import Glibc
import VaultCore

/// S3 credentials. The secret never appears in a message: `description` names only the source.
public struct S3Credentials: Sendable, CustomStringConvertible {
    public let accessKeyID: String
    let secretAccessKey: String
    let sessionToken: String?
    /// Where they came from, for messages ("environment", a file and profile).
    public let source: String

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, source: String) {
        self.accessKeyID = accessKeyID; self.secretAccessKey = secretAccessKey; self.sessionToken = sessionToken;
        self.source = source
    }

    public var description: String { "access key \(accessKeyID) from \(source)" }

    func signer(region: String) -> SigV4 {
        SigV4(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, region: region)
    }

    /// The environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), then a
    /// systemd credential (`$CREDENTIALS_DIRECTORY/aws-credentials`, in the shared-file format),
    /// then the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, default
    /// `~/.aws/credentials`); profile `AWS_PROFILE` or `default`.
    public static func resolve(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> S3Credentials
    {
        if let id = environment["AWS_ACCESS_KEY_ID"], !id.isEmpty {
            guard let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
                throw VaultError(
                    .usage, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
                    hint: "set both, or neither and use a credentials file")
            }
            let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            return S3Credentials(
                accessKeyID: id, secretAccessKey: secret, sessionToken: token, source: "the environment")
        }
        let profile = environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        var files: [String] = []
        if let dir = environment["CREDENTIALS_DIRECTORY"], !dir.isEmpty { files.append(dir + "/aws-credentials") }
        if let f = environment["AWS_SHARED_CREDENTIALS_FILE"], !f.isEmpty {
            files.append(f)
        } else if let home = environment["HOME"], !home.isEmpty {
            files.append(home + "/.aws/credentials")
        }
        for file in files {
            guard let st = try Posix.lstat(file) else { continue }
            if st.st_mode & 0o004 != 0 {
                throw VaultError(
                    .insecureFile, "the S3 credentials file \(file) is readable by every user",
                    hint: "chmod 600 \(file)")
            }
            let text = String(decoding: try Posix.readFile(file), as: UTF8.self)
            guard let values = parseProfile(text, profile: profile) else { continue }
            guard let id = values["aws_access_key_id"], let secret = values["aws_secret_access_key"] else {
                throw VaultError(
                    .usage, "profile [\(profile)] of \(file) lacks aws_access_key_id or aws_secret_access_key",
                    hint: "add both lines to the profile")
            }
            return S3Credentials(
                accessKeyID: id, secretAccessKey: secret, sessionToken: values["aws_session_token"],
                source: "\(file) [\(profile)]")
        }
        throw VaultError(
            .usage, "no S3 credentials found",
            hint:
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or write profile [\(profile)] in ~/.aws/credentials (or AWS_SHARED_CREDENTIALS_FILE), or LoadCredential=aws-credentials under systemd"
        )
    }

    /// The keys of `[profile]` in an INI file (`#` and `;` comments), or nil if it has no such section.
    static func parseProfile(_ text: String, profile: String) -> [String: String]? {
        var section: String?
        var values: [String: String]?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                var name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                if name.hasPrefix("profile ") { name = String(name.dropFirst(8)).trimmingCharacters(in: .whitespaces) }
                section = name
                if name == profile, values == nil { values = [:] }
                continue
            }
            guard section == profile, let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            values?[key] = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
        }
        return values
    }
}
