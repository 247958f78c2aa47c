import Foundation

/// The backend a `--repo` string names: `s3:...` is an S3 bucket, anything else a local path.
/// With `appendOnly`, the backend refuses every delete (AppendOnly); with `limits`, its transfers
/// are held to those rates (ThrottledBackend).
public func openBackend(
    _ location: String, environment: [String: String] = ProcessInfo.processInfo.environment,
    appendOnly: Bool = false, limits: BandwidthLimits = .none
) throws -> Backend {
    if location.hasPrefix("s3:") {
        let s3 = try S3Backend.open(location, environment: environment)
        s3.appendOnly = appendOnly
        return ThrottledBackend.wrap(s3, limits)
    }
    let local = LocalBackend(path: location)
    local.appendOnly = appendOnly
    return ThrottledBackend.wrap(local, limits)
}
