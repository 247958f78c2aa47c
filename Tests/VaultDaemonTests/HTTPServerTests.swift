import Foundation
import Glibc
import Testing
import VaultDaemon

/// A plain TCP client for the tests.
func connectTo(_ port: UInt16) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_port = port.bigEndian
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr)
    _ = withUnsafePointer(to: &a) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    return fd
}

func exchange(_ port: UInt16, _ request: String) -> String {
    let fd = connectTo(port)
    defer { close(fd) }
    _ = Array(request.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    var out: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = recv(fd, &buffer, buffer.count, 0)
        if n <= 0 { break }
        out += buffer[0..<n]
    }
    return String(decoding: out, as: UTF8.self)
}

func echoServer(deadline: TimeInterval = 5, maxConnections: Int = 1024) throws -> HTTPServer {
    var options = HTTPServer.Options()
    options.requestDeadline = deadline
    options.maxConnections = maxConnections
    let server = HTTPServer(port: 0, options: options) { request in
        request.path == "/livez"
            ? HTTPResponse(status: 200, text: "ok") : HTTPResponse(status: 404, text: "no \(request.path)")
    }
    try server.start()
    return server
}

@Suite(.serialized) struct HTTPServerTests {
    @Test func answersRequestsAndHEADAndCloses() throws {
        let server = try echoServer()
        defer { server.stop() }
        #expect(exchange(server.port, "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n").hasPrefix("HTTP/1.1 200 OK\r\n"))
        let head = exchange(server.port, "HEAD /livez HTTP/1.1\r\n\r\n")
        #expect(head.hasPrefix("HTTP/1.1 200 OK") && head.hasSuffix("\r\n\r\n"), "no body for HEAD")
        #expect(exchange(server.port, "GET /nope HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 404"))
        #expect(exchange(server.port, "\u{0}\u{1}garbage\r\n\r\n").hasPrefix("HTTP/1.1 400"))
        #expect(
            exchange(server.port, "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 1 << 20)).hasPrefix(
                "HTTP/1.1 431"))
    }

    @Test func aSlowClientGets408AndHoldsNothing() throws {
        let server = try echoServer(deadline: 0.5)
        defer { server.stop() }
        let t0 = Date()
        let r = exchange(server.port, "GET /livez HTTP/1.1\r\n")
        #expect(r.hasPrefix("HTTP/1.1 408"))
        #expect(Date().timeIntervalSince(t0) < 3)
    }

    @Test func slowlorisClientsDoNotDelayAWellBehavedOne() throws {
        let server = try echoServer(deadline: 10)
        var idle: [Int32] = []
        // 1,000 clients that send half a request and then nothing (issue 5's load figure).
        for _ in 0..<1000 {
            let fd = connectTo(server.port)
            _ = Array("GET /livez HTTP/1.1\r\nX-Slow: ".utf8).withUnsafeBytes {
                send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            idle.append(fd)
        }
        usleep(200_000)
        var worst = 0.0
        for _ in 0..<20 {
            let t0 = Date()
            #expect(exchange(server.port, "GET /livez HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 200"))
            worst = max(worst, Date().timeIntervalSince(t0))
        }
        #expect(worst < 0.1, "a probe took \(worst) s with 1,000 slow clients connected")
        #expect(server.openConnections >= 1000)
        idle.forEach { close($0) }
        // Every connection the clients closed is closed by the server too: no descriptor leak.
        var drained = false
        for _ in 0..<50 where !drained { usleep(100_000); drained = server.openConnections == 0 }
        #expect(drained, "\(server.openConnections) connections still open")
        server.stop()
    }

    /// At the cap, idle clients give way to a probe (oldest first) instead of the probe being
    /// refused: a local user holding sockets cannot make /livez fail (issue 14).
    @Test func atTheCapTheOldestIdleConnectionGivesWay() throws {
        let server = try echoServer(deadline: 10, maxConnections: 5)
        defer { server.stop() }
        let held = (0..<5).map { _ in connectTo(server.port) }
        defer { held.forEach { close($0) } }
        for _ in 0..<50 where server.openConnections < 5 { usleep(100_000) }
        #expect(server.openConnections == 5)
        #expect(exchange(server.port, "GET /livez HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 200"))
        // The first idle client was closed to make room; the others are still held.
        var byte: UInt8 = 0
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(held[0], SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        #expect(recv(held[0], &byte, 1, 0) == 0, "the oldest idle connection was closed")
        #expect(server.openConnections <= 5)
    }
}
