import Foundation

/// The backend a `--repo` string names: `s3:...` is an S3 bucket, anything else a local path.
public func openBackend(_ location: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Backend {
    if location.hasPrefix("s3:") { return try S3Backend.open(location, environment: environment) }
    return LocalBackend(path: location)
}
