import Foundation
import Testing
import VaultCore
@_spi(Repository) import VaultStorage
import S3TestSupport

/// The S3 backend over TLS: the fault proxy terminates TLS in front of moto with a throwaway
/// self-signed certificate made here by `openssl req`, valid for the IP address 127.0.0.1 only.
struct S3TLSTests {
    let directory: String
    let cert: String
    let key: String

    init() throws {
        directory = NSTemporaryDirectory() + "cv-tls-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        cert = directory + "/cert.pem"; key = directory + "/key.pem"
        try Self.selfSigned(cert: cert, key: key, subjectAltName: "IP:127.0.0.1")
    }

    static func selfSigned(cert: String, key: String, subjectAltName: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=chainvault-test",
            "-addext", "subjectAltName=\(subjectAltName)"
        ]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw SupportErrorForTLS("openssl req failed") }
    }

    struct SupportErrorForTLS: Error { let why: String; init(_ w: String) { why = w } }

    func withProxy(_ body: (FaultProxy, MotoS3) throws -> Void) throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let moto = try MotoS3.shared()
        let proxy = try FaultProxy(upstreamPort: moto.port, seed: 1, rate: 0, certificate: (cert, key))
        defer { proxy.stop() }
        try body(proxy, moto)
    }

    @Test func aPrivateCAGivenInTheCAFileIsTrusted() throws {
        try withProxy { proxy, moto in
            var env = moto.environment
            env["CHAINVAULT_S3_CA_FILE"] = cert
            let b = try S3Backend.open(moto.newRepository("tls", endpoint: proxy.endpoint), environment: env)
            try b.create()
            let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let handle = ObjectHandle(.snapshot, "0123abcd")
            try b.write(handle, bytes)
            #expect(try b.read(handle, range: nil) == bytes)
            #expect(try b.read(handle, range: 1000..<1010) == Array(bytes[1000..<1010]))
            #expect(try b.list(.snapshot).map(\.name) == ["0123abcd"])
        }
    }

    /// Not retried: the same certificate fails the same way, and the hint names the CA file option.
    @Test func anUntrustedCertificateFailsAtOnceWithACertificateError() throws {
        try withProxy { proxy, moto in
            let b = try S3Backend.open(
                moto.newRepository("tls", endpoint: proxy.endpoint), environment: moto.environment)
            let e = #expect(throws: VaultError.self) { try b.list(.snapshot) }
            #expect(e?.code == .storageFailure, "\(String(describing: e))")
            #expect(
                e?.message.contains("the TLS certificate of 127.0.0.1 is not accepted: self-signed certificate")
                    == true,
                "\(String(describing: e))")
            #expect(e?.hint?.contains("CHAINVAULT_S3_CA_FILE") == true)
            #expect(b.client.retries == 0, "a certificate error is not retried")
        }
    }

    @Test func aWrongCAFails() throws {
        let other = directory + "/other.pem"
        try Self.selfSigned(cert: other, key: directory + "/other-key.pem", subjectAltName: "IP:127.0.0.1")
        try withProxy { proxy, moto in
            var env = moto.environment
            env["CHAINVAULT_S3_CA_FILE"] = other
            let b = try S3Backend.open(moto.newRepository("tls", endpoint: proxy.endpoint), environment: env)
            let e = #expect(throws: VaultError.self) { try b.list(.snapshot) }
            #expect(e?.message.contains("certificate of 127.0.0.1 is not accepted") == true, "\(String(describing: e))")
        }
    }

    /// The certificate is valid for 127.0.0.1; reached as `localhost`, it names another host.
    @Test func aCertificateForAnotherHostFails() throws {
        try withProxy { proxy, moto in
            var env = moto.environment
            env["CHAINVAULT_S3_CA_FILE"] = cert
            let b = try S3Backend.open(
                moto.newRepository("tls", endpoint: "https://localhost:\(proxy.port)"), environment: env)
            let e = #expect(throws: VaultError.self) { try b.list(.snapshot) }
            #expect(
                e?.message.contains("the TLS certificate of localhost is not accepted: hostname mismatch") == true,
                "\(String(describing: e))")
        }
    }

    @Test func aCAFileThatCannotBeLoadedIsAUsageError() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let moto = try MotoS3.shared()
        var env = moto.environment
        env["CHAINVAULT_S3_CA_FILE"] = directory + "/missing.pem"
        let e = #expect(throws: VaultError.self) { try S3Backend.open(moto.newRepository("tls"), environment: env) }
        #expect(e?.code == .usage && e?.message.contains("CHAINVAULT_S3_CA_FILE=") == true, "\(String(describing: e))")
    }
}
