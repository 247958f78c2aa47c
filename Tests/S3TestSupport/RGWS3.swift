import Foundation
import Glibc

/// A one-node Ceph cluster with radosgw on 127.0.0.1 (a real distributed object store, as hosting
/// providers run it), one per test process, started on first use by `rgw_launcher.py`, which also
/// stops it and removes its directory when this process ends, however it ends. Each test takes
/// its own bucket (`newBucket`), so versioning, Object Lock and bucket policies stay per test.
///
/// The OSD keeps its data in memory (memstore): 15-18 s from nothing to an S3 endpoint here, against 21 s
/// for BlueStore on a sparse file, and nothing a test writes needs to survive the process.
///
/// @unchecked: every stored property is a `let`; the launcher's pipes are used only under `exchange`.
public final class RGWS3: S3Server, @unchecked Sendable {
    public let endpoint: String
    public let port: Int
    public let accessKey: String
    public let secretKey: String
    /// Another user, granted only s3:PutObject, s3:GetObject and s3:ListBucket on buckets made
    /// with `node: true` (a credential that cannot delete).
    public let nodeAccessKey: String
    public let nodeSecretKey: String
    /// Seconds the cluster took to start, as the launcher measured it.
    public let startSeconds: Double
    public var kind: S3StoreKind { .rgw }

    private let process: Process
    private let input: Pipe
    private let output: FileHandle
    private let exchange = NSLock()

    /// The daemons this launcher needs (Debian: ceph-mon ceph-osd radosgw ceph-common).
    static let programs = ["ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph", "ceph-authtool", "monmaptool"]

    public static func shared() throws -> RGWS3 { try started.get() }
    private static let started: Result<RGWS3, Error> = Result { try RGWS3() }

    private init() throws {
        let missing = Self.programs.filter { program in
            !["/usr/bin/", "/usr/sbin/", "/bin/"].contains { access($0 + program, X_OK) == 0 }
        }
        if !missing.isEmpty {
            throw S3ServerUnavailable(
                description: "Ceph RGW is not installed (missing \(missing.joined(separator: ", "))); "
                    + "bash .ci/setup installs ceph-mon ceph-osd radosgw ceph-common")
        }
        var template = Array((NSTemporaryDirectory() + "/cv-rgw-XXXXXX").utf8CString)
        guard
            let dir = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }).map({ String(cString: $0) })
        else {
            throw SupportError("mkdtemp failed for the RGW cluster's directory")
        }
        let mon = TestPorts.take(), rgw = TestPorts.take()
        // The OSD binds several messenger ports (public, cluster, heartbeats): a range of its own.
        let osdPorts = (0..<12).map { _ in TestPorts.take() }
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", MotoS3.supportDirectory + "/rgw_launcher.py", String(getpid()), dir,
            String(mon), String(rgw), String(osdPorts.min()!), String(osdPorts.max()!), "memstore"
        ]
        let out = Pipe()
        input = Pipe()
        process.standardOutput = out
        process.standardInput = input
        try process.run()
        output = out.fileHandleForReading
        let line = readLine(output)
        struct Info: Decodable {
            let endpoint: String; let access_key: String; let secret_key: String
            let node_access_key: String; let node_secret_key: String; let seconds: Double
        }
        guard let info = try? JSONDecoder().decode(Info.self, from: Data(line.utf8)) else {
            throw SupportError("the RGW cluster did not start; launcher said: \(line)")
        }
        endpoint = info.endpoint
        port = Int(rgw)
        accessKey = info.access_key; secretKey = info.secret_key
        nodeAccessKey = info.node_access_key; nodeSecretKey = info.node_secret_key
        startSeconds = info.seconds
    }

    /// A new bucket (names are unique per call). `versioned`: versioning enabled; `objectLock`:
    /// created with Object Lock (which makes it versioned too); `node`: the node user may put,
    /// get and list in it, nothing else.
    public func newBucket(versioned: Bool = false, objectLock: Bool = false, node: Bool = false) throws -> String {
        let name = "cv-" + UUID().uuidString.prefix(13).lowercased().replacingOccurrences(of: "-", with: "")
        let flags = [versioned ? "versioned" : nil, objectLock ? "lock" : nil, node ? "node" : nil].compactMap { $0 }
        let answer = exchange.withLock {
            input.fileHandleForWriting.write(Data((["bucket", name] + flags).joined(separator: " ").utf8 + [10]))
            return readLine(output)
        }
        guard answer.contains("\"ok\"") else { throw SupportError("creating bucket \(name) on RGW: \(answer)") }
        return name
    }

    /// A fresh repository in a bucket of its own, which the node user may write but not delete in.
    public func newRepository(_ label: String, endpoint: String?) throws -> String {
        try newRepository(label, endpoint: endpoint, versioned: false)
    }

    public func newRepository(
        _ label: String, endpoint: String? = nil, versioned: Bool = false,
        objectLock: Bool = false, node: Bool = true
    ) throws -> String {
        let bucket = try newBucket(versioned: versioned, objectLock: objectLock, node: node)
        return "s3:\(endpoint ?? self.endpoint)/\(bucket)/\(label)"
    }

    public var environment: [String: String] {
        [
            "AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secretKey, "AWS_REGION": "us-east-1",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "CHAINVAULT_S3_RETRIES": "6"
        ]
    }

    public var nodeEnvironment: [String: String] {
        environment.merging(["AWS_ACCESS_KEY_ID": nodeAccessKey, "AWS_SECRET_ACCESS_KEY": nodeSecretKey]) { $1 }
    }
}
