import Foundation

/// The S3 stores the tests run against: moto (a single Python process that mimics AWS S3, with
/// IAM) and Ceph RGW (a real distributed object store). Conformance and end-to-end tests take
/// them as arguments, so each case runs on both.
public enum S3StoreKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case moto, rgw
    public var description: String { rawValue }

    /// The store, started on first use (once per test process). Throws `S3ServerUnavailable`
    /// when its programs are not installed (tests skip then, naming what is missing).
    public func server() throws -> any S3Server {
        switch self {
        case .moto: return try MotoS3.shared()
        case .rgw: return try RGWS3.shared()
        }
    }
}

public protocol S3Server: Sendable {
    var kind: S3StoreKind { get }
    var endpoint: String { get }
    /// The port the store listens on (for a fault proxy in front of it).
    var port: Int { get }
    /// Credentials of a user that may do everything, and nothing else of AWS's settings.
    var environment: [String: String] { get }
    /// A user that may put, get and list but never delete (moto: IAM; RGW: in buckets made for it).
    var nodeEnvironment: [String: String] { get }
    /// A fresh, empty repository location: moto, a unique prefix in one bucket; RGW, a bucket of its own.
    func newRepository(_ label: String, endpoint: String?) throws -> String
}

/// A store that cannot run here (its programs are missing): tests skip with this reason.
public struct S3ServerUnavailable: Error, CustomStringConvertible {
    public let description: String
}

/// `s3_admin.py`: what the bucket's administrator does with boto3 (create an Object Lock bucket,
/// try to delete object versions). Returns its one JSON line.
public func s3Admin(_ server: any S3Server, _ arguments: [String]) throws -> [String: Any] {
    let env = server.environment
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments =
        [
            "python3", MotoS3.supportDirectory + "/s3_admin.py", server.endpoint,
            env["AWS_ACCESS_KEY_ID"] ?? "", env["AWS_SECRET_ACCESS_KEY"] ?? ""
        ] + arguments
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0, let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw SupportError(
            "s3_admin.py \(arguments.joined(separator: " ")) failed: \(String(decoding: data, as: UTF8.self))")
    }
    return json
}
