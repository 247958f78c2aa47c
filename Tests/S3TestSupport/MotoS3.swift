import Foundation

/// A moto_server on 127.0.0.1 with signature checks on, one per test process, started on first
/// use by `moto_launcher.py` (which also stops it when this process ends, however it ends).
/// Tests isolate themselves by key prefix inside one bucket.
public struct MotoS3: S3Server, Sendable {
    public var kind: S3StoreKind { .moto }
    public let endpoint: String
    public let port: Int
    public let accessKey: String
    public let secretKey: String
    public let bucket: String
    /// A second IAM user whose policy grants no delete (the append-only node of README "Security").
    public var nodeAccessKey = ""
    public var nodeSecretKey = ""

    public static func shared() throws -> MotoS3 { try started.get() }

    private static let started: Result<MotoS3, Error> = Result { try launch() }
    // nonisolated(unsafe): written once, by `launch()`, which runs once (the lazy `started`); it only
    // keeps the launcher process referenced for the life of the test process.
    nonisolated(unsafe) private static var launcher: Process?

    static let supportDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path

    private static func launch() throws -> MotoS3 {
        let port = Int(TestPorts.take())
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [
            "python3", supportDirectory + "/moto_launcher.py", String(getpid()), String(port), "chainvault-test"
        ]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        launcher = p
        let line = readLine(out.fileHandleForReading)
        struct Info: Decodable {
            let endpoint: String; let access_key: String; let secret_key: String; let bucket: String
            let node_access_key: String; let node_secret_key: String
        }
        guard let info = try? JSONDecoder().decode(Info.self, from: Data(line.utf8)) else {
            throw SupportError(
                "moto_server did not start (is it installed? bash .ci/setup installs moto[server] and boto3); launcher said: \(line)"
            )
        }
        var moto = MotoS3(
            endpoint: info.endpoint, port: port, accessKey: info.access_key, secretKey: info.secret_key,
            bucket: info.bucket)
        moto.nodeAccessKey = info.node_access_key
        moto.nodeSecretKey = info.node_secret_key
        return moto
    }

    /// A fresh repository location under a unique prefix.
    public func newRepository(_ label: String = "repo", endpoint: String? = nil) -> String {
        "s3:\(endpoint ?? self.endpoint)/\(bucket)/\(label)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// The environment chainvault needs to reach this server (no other AWS settings leak in).
    public var nodeEnvironment: [String: String] {
        environment.merging(["AWS_ACCESS_KEY_ID": nodeAccessKey, "AWS_SECRET_ACCESS_KEY": nodeSecretKey]) { $1 }
    }

    public var environment: [String: String] {
        [
            "AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secretKey, "AWS_REGION": "us-east-1",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "CHAINVAULT_S3_RETRIES": "6"
        ]
    }
}

/// `fault_proxy.py` in front of an upstream port: injects 5xx, cut bodies and delays at `rate`,
/// or (mode `.resetUploads`) resets each PUT mid-body once or twice per object.
///
/// @unchecked: every stored property is a `let`; the proxy's pipes are used only under `exchange`.
public final class FaultProxy: @unchecked Sendable {
    public enum Mode: String, Sendable { case mixed, resetUploads = "reset-uploads" }
    public let port: Int
    private let process: Process
    private let input: Pipe
    private let output: FileHandle
    /// One command and its answer at a time: answers are matched to commands by order.
    private let exchange = NSLock()

    public let tls: Bool

    /// `certificate`: PEM certificate and key files; the proxy then speaks TLS to its clients.
    public init(
        upstreamPort: Int, seed: Int, rate: Double, mode: Mode = .mixed,
        certificate: (cert: String, key: String)? = nil
    ) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            [
                "python3", MotoS3.supportDirectory + "/fault_proxy.py", String(getpid()), String(upstreamPort),
                String(seed), String(rate), mode.rawValue
            ] + (certificate.map { [$0.cert, $0.key] } ?? [])
        tls = certificate != nil
        let out = Pipe()
        input = Pipe()
        process.standardOutput = out
        process.standardInput = input
        try process.run()
        output = out.fileHandleForReading
        let line = readLine(output)
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw SupportError("the fault proxy did not start: \(line)")
        }
        self.port = port
    }

    public var endpoint: String { "\(tls ? "https" : "http")://127.0.0.1:\(port)" }

    /// The faults injected so far, by kind ("reset", "503", "cut", ...), as the proxy reports them.
    public func counts() -> [String: Int] {
        let line = ask("counts")
        return (try? JSONDecoder().decode([String: Int].self, from: Data(line.utf8))) ?? [:]
    }

    /// Sends one command (see fault_proxy.py) and waits for the proxy to say it applies.
    public func command(_ text: String) { _ = ask(text) }

    private func ask(_ text: String) -> String {
        exchange.withLock {
            input.fileHandleForWriting.write(Data((text + "\n").utf8))
            return readLine(output)
        }
    }

    /// Listings lose their second half and say they are truncated, with no next token.
    public func truncateListings() { command("truncate-list") }
    /// Listings say they are truncated and name the same continuation token every time.
    public func repeatListingToken() { command("repeat-token") }
    /// Every request whose path contains `pathPart` gets 503 SlowDown.
    public func fail(_ pathPart: String) { command("fail \(pathPart)") }
    /// The next GET whose path contains `pathPart` gets one bit of its body flipped.
    public func flipOnce(_ pathPart: String) { command("flip-once \(pathPart)") }
    /// The connection that carries the next GET whose path contains `pathPart` goes bad: every
    /// such GET on it gets the same bit flipped; other connections carry the bytes unchanged.
    public func flipOnConnection(_ pathPart: String) { command("flip-connection \(pathPart)") }
    /// Like `flipOnce`, after `skipping` matching GETs have passed unchanged.
    public func flipOnce(_ pathPart: String, skipping: Int) { command("flip-after \(skipping) \(pathPart)") }
    /// Every GET whose path contains `pathPart` gets one bit flipped, as stored damage would.
    public func flipAlways(_ pathPart: String) { command("flip-always \(pathPart)") }
    public func clear() { command("clear") }

    /// One GET the proxy forwarded: its path, its Range header, which client connection carried it
    /// (numbered in the order the proxy accepted them) and whether its body got a bit flipped.
    public struct Get: Sendable {
        public let path: String
        public let range: String?
        public let connection: Int
        public let flipped: Bool
    }

    /// Every GET so far, in the order the proxy answered them.
    public func gets() -> [Get] {
        let line = ask("gets")
        let rows = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [[Any]] ?? []
        return rows.compactMap { row in
            guard row.count == 4, let path = row[0] as? String, let connection = row[2] as? Int,
                let flipped = row[3] as? Bool
            else { return nil }
            return Get(path: path, range: row[1] as? String, connection: connection, flipped: flipped)
        }
    }

    /// Every request fails (connection closed) while down.
    public func setDown(_ down: Bool) { command(down ? "down" : "up") }

    /// SIGKILL: the test runner's children inherit an ignored SIGTERM.
    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
}

public struct SupportError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}

func readLine(_ handle: FileHandle) -> String {
    var bytes: [UInt8] = []
    while true {
        let chunk = handle.readData(ofLength: 1)
        if chunk.isEmpty || chunk[chunk.startIndex] == UInt8(ascii: "\n") { break }
        bytes.append(chunk[chunk.startIndex])
    }
    return String(decoding: bytes, as: UTF8.self)
}
