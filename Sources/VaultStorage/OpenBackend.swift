import Foundation

/// The backend a `--repo` string names: `s3:...` is an S3 bucket, anything else a local path.
/// With `appendOnly`, the backend refuses every delete (AppendOnly).
public func openBackend(_ location: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                        appendOnly: Bool = false) throws -> Backend {
    if location.hasPrefix("s3:") {
        let s3 = try S3Backend.open(location, environment: environment)
        s3.appendOnly = appendOnly
        return s3
    }
    let local = LocalBackend(path: location)
    local.appendOnly = appendOnly
    return local
}
