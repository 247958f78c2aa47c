import Foundation
import Testing
import VaultCore
@testable import VaultStorage
import S3TestSupport

/// The keep-alive pool, through the fault proxy (HTTP/1.1 keep-alive; moto's server speaks
/// HTTP/1.0 and closes): sequential requests reuse one connection, and however many run at
/// once, no more than the bound stay open afterwards.
@Test func keepAliveConnectionsAreReusedAndBounded() throws {
    let moto = try MotoS3.shared()
    let proxy = try FaultProxy(upstreamPort: moto.port, seed: 1, rate: 0)
    defer { proxy.stop() }
    let transport = HTTP1Transport(connections: 2, timeout: 10)
    let url = URL(string: "\(proxy.endpoint)/\(moto.bucket)")!
    for _ in 0..<10 {
        let r = try transport.send(method: "HEAD", url: url, headers: [], body: .none)
        #expect(r.status > 0)
    }
    #expect(transport.pool.idleCount == 1, "ten requests in turn share one connection")
    DispatchQueue.concurrentPerform(iterations: 8) { _ in
        _ = try? transport.send(method: "HEAD", url: url, headers: [], body: .none)
    }
    #expect((1...2).contains(transport.pool.idleCount), "at most the bound stays open: \(transport.pool.idleCount)")
}

/// A refused port fails fast with a transport error to retry, not a crash or a hang.
@Test func aRefusedConnectionIsATransportError() throws {
    let transport = HTTP1Transport(connections: 1, timeout: 5)
    let e = #expect(throws: TransportError.self) {
        try transport.send(method: "GET", url: URL(string: "http://127.0.0.1:1/x")!, headers: [], body: .none)
    }
    #expect(
        e?.isPermanent == false && e?.description.contains("connection refused") == true, "\(String(describing: e))")
}
