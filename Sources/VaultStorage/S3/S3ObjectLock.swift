import Foundation
import Glibc
import VaultCore

/// S3 Object Lock retention that chainvault sets on every object it writes (except locks, which
/// protect nothing and must be removable): `s3:...?object-lock=MODE:DAYS` in the repository
/// location, MODE `governance` or `compliance`. The bucket must have been created with Object
/// Lock. A locked object version cannot be deleted (DELETE with its versionId is refused) until
/// its retention ends, whatever the credential (GOVERNANCE: unless it may bypass governance).
public struct S3ObjectLock: Sendable, Equatable {
    public enum Mode: String, Sendable { case governance = "GOVERNANCE", compliance = "COMPLIANCE" }
    public var mode: Mode
    public var days: Int

    /// Splits `?object-lock=...` off a repository location (the only parameter S3 locations take).
    static func split(_ spec: String) throws -> (location: String, lock: S3ObjectLock?) {
        guard let q = spec.firstIndex(of: "?") else { return (spec, nil) }
        let location = String(spec[..<q])
        let parameter = spec[spec.index(after: q)...]
        let bad = VaultError(
            .usage, "the S3 location parameter '\(parameter)' is not object-lock=MODE:DAYS",
            hint: "write s3:ENDPOINT/BUCKET/PREFIX?object-lock=governance:30 (or compliance:DAYS), "
                + "on a bucket created with Object Lock")
        guard parameter.hasPrefix("object-lock=") else { throw bad }
        let value = parameter.dropFirst("object-lock=".count).split(separator: ":", omittingEmptySubsequences: false)
        guard value.count == 2, let mode = Mode(rawValue: value[0].uppercased()), let days = Int(value[1]),
            (1...36_500).contains(days)
        else { throw bad }
        return (location, S3ObjectLock(mode: mode, days: days))
    }

    /// The headers of a PUT of an object with this retention. S3 requires an integrity header
    /// with them: the payload's SHA-256, which every PUT already signs, as `x-amz-checksum-sha256`.
    func headers(payloadHash: String, now: Date = Date()) -> [(String, String)] {
        let until = Self.isoString(now.addingTimeInterval(TimeInterval(days) * 86_400))
        let checksum = Data(Hex.decode(payloadHash) ?? []).base64EncodedString()
        return [
            ("x-amz-object-lock-mode", mode.rawValue), ("x-amz-object-lock-retain-until-date", until),
            ("x-amz-sdk-checksum-algorithm", "SHA256"), ("x-amz-checksum-sha256", checksum)
        ]
    }

    /// `2026-12-31T10:15:30Z`, what `x-amz-object-lock-retain-until-date` takes.
    static func isoString(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970)
        var p = tm()
        gmtime_r(&t, &p)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02dZ", p.tm_year + 1900, p.tm_mon + 1, p.tm_mday,
            p.tm_hour, p.tm_min, p.tm_sec)
    }
}
