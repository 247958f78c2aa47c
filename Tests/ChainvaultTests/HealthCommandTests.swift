import Foundation
import Glibc
import S3TestSupport
import Testing

/// `chainvault health` through the binary, against a stand-in daemon that serves a fixed
/// /v1/status, so each verdict is exact.
struct HealthCommandTests {
    /// Answers every connection with `body` as /v1/status, until stopped; with `token`, as the
    /// daemon does since /v1/status needs the monitor role: 401 and no body without that bearer token.
    final class StatusServer {
        let port: UInt16
        private let fd: Int32
        private let thread: Thread

        init(body: String, token: String? = nil) throws {
            let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            let port = TestPorts.take()
            var one: Int32 = 1
            setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET); a.sin_port = port.bigEndian
            inet_pton(AF_INET, "127.0.0.1", &a.sin_addr)
            let bound = withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0, listen(listener, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
            let response = Array(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
                    .utf8)
            let refused = Array("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
            thread = Thread {
                while true {
                    let client = accept(listener, nil, nil)
                    if client < 0 { return }  // the listener was shut down
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    let n = max(0, recv(client, &buffer, buffer.count, 0))
                    let request = String(decoding: buffer[0..<n], as: UTF8.self)
                    let allowed = token.map { request.contains("\r\nAuthorization: Bearer \($0)\r\n") } ?? true
                    let response = allowed ? response : refused
                    _ = response.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    close(client)
                }
            }
            thread.start()
            fd = listener
            self.port = port
        }

        deinit { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
    }

    static let status = """
        {"ready":true,"policies":[
         {"name":"demo","ageSeconds":45,"rpoSeconds":3600,"lastOutcome":"succeeded","lastVerifyErrors":0},
         {"name":"never","ageSeconds":null,"rpoSeconds":3600,"lastOutcome":null,"lastVerifyErrors":0}]}
        """

    @Test func shortLimitsShowSecondsAndANeverBackedUpPolicyHasNoAge() throws {
        let server = try StatusServer(body: Self.status)
        let w = try Workspace()
        let url = "http://127.0.0.1:\(server.port)"
        let demo = try w.run(["health", "--url", url, "--policy", "demo", "-w", "10s", "-c", "2m"])
        #expect(demo.code == 1)
        #expect(
            demo.stdout == "CHAINVAULT WARNING: demo last backup 45 s ago (late over 10 s) | age_demo=45s;10;120;0\n")
        let never = try w.run(["health", "--url", url, "--policy", "never"])
        #expect(never.code == 2)
        #expect(never.stdout == "CHAINVAULT CRITICAL: never never backed up | age_never=U;3600;7200;0\n")
    }

    @Test func jsonGivesTheSameVerdictWithNumbers() throws {
        let server = try StatusServer(body: Self.status)
        let w = try Workspace()
        let r = try w.run(["health", "--url", "http://127.0.0.1:\(server.port)", "--json"])
        #expect(r.code == 2)
        let json = r.json
        #expect(json["state"] as? String == "CRITICAL")
        #expect(json["exitCode"] as? Int == 2)
        let policies = json["policies"] as? [[String: Any]] ?? []
        #expect(policies.map { $0["name"] as? String } == ["demo", "never"])
        #expect(policies.first?["ageSeconds"] as? Double == 45)
        #expect(policies.first?["warningSeconds"] as? Double == 3600)
        #expect((policies.last?["problems"] as? [String]) == ["never backed up"])
        let unreachable = try w.run(["health", "--url", "http://127.0.0.1:1", "--json"])
        #expect(unreachable.code == 3)
        #expect(unreachable.json["state"] as? String == "UNKNOWN", "\(unreachable.stdout)")
    }
}
