import Foundation
import Glibc
import VaultCore

/// A minimal HTTP/1.1 GET over loopback, for `chainvault health` (no URLSession: it must answer
/// within its deadline even when the daemon is wedged).
public enum HTTPClient {
    public struct Response: Sendable { public let status: Int; public let body: [UInt8] }

    /// With `bearer`, sends `Authorization: Bearer <bearer>` (visible ASCII: `MonitorToken` checks it).
    public static func get(
        host: String, port: UInt16, path: String, bearer: [UInt8]? = nil,
        timeout: TimeInterval = 5
    ) -> Response? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - floor(timeout)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &a.sin_addr) == 1 else { return nil }
        let connected = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return nil }
        var request = Array("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n".utf8)
        if let bearer { request += Array("Authorization: Bearer ".utf8) + bearer + [13, 10] }
        request += [13, 10]
        defer { wipe(&request) }  // it holds the token
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count
        else { return nil }
        var data: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 16 << 10)
        while data.count < 8 << 20 {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            data += buffer[0..<n]
        }
        guard
            let headEnd = (0..<max(0, data.count - 3)).first(where: {
                data[$0] == 13 && data[$0 + 1] == 10 && data[$0 + 2] == 13 && data[$0 + 3] == 10
            })
        else { return nil }
        let statusLine = String(decoding: data[0..<(data.firstIndex(of: 13) ?? 0)], as: UTF8.self).split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
        return Response(status: status, body: Array(data[(headEnd + 4)...]))
    }
}
