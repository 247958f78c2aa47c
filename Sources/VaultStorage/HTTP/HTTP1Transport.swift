import Foundation
import Glibc
import VaultCore

/// chainvault's own HTTP/1.1 client (sockets, TLS from OpenSSL), called synchronously from the
/// backend's threads. Each `send` is one exchange on one connection: a body is sent from its
/// first byte (a file is read with `pread` from offset 0), so the S3 client's retry after a
/// reset sends the whole request again on a new connection and costs one backoff delay.
public final class HTTP1Transport: HTTPTransport, Sendable {
    let timeout: Double
    let caFile: String?
    let pool: ConnectionPool

    /// Bodies of responses to callers that name no limit (error documents, listings).
    public static let defaultResponseLimit = 64 << 20

    /// `connections`: idle keep-alive connections kept per endpoint. `timeout`: seconds without
    /// progress (connecting, writing, reading) before an exchange fails. `caFile`: PEM
    /// certificates trusted in addition to the system store.
    public init(connections: Int, timeout: Double, caFile: String? = nil) {
        self.timeout = timeout; self.caFile = caFile
        pool = ConnectionPool(capacity: connections)
    }

    public func send(method: String, url: URL, headers: [(String, String)], body: HTTPBody) throws -> HTTPResponse {
        try send(method: method, url: url, headers: headers, body: body, responseLimit: Self.defaultResponseLimit)
    }

    public func send(
        method: String, url: URL, headers: [(String, String)], body: HTTPBody,
        responseLimit: Int
    ) throws -> HTTPResponse {
        try send(
            method: method, url: url, headers: headers, body: body, responseLimit: responseLimit, freshConnection: false
        )
    }

    public func send(
        method: String, url: URL, headers: [(String, String)], body: HTTPBody,
        responseLimit: Int, freshConnection: Bool
    ) throws -> HTTPResponse {
        let endpoint = try HTTPEndpoint(url)
        let request = try HTTPRequestHead(method: method, endpoint: endpoint, headers: headers, body: body)
        // A pooled connection the server closed a moment ago fails before any response byte:
        // that is no fault of the request, so it goes again at once on a fresh connection. Not
        // a PUT that was sent whole: the server may have stored it, and the S3 client must see
        // a second attempt to read its 412 as "our own earlier write".
        if !freshConnection, let pooled = pool.take(endpoint.key) {
            do {
                return try exchange(on: pooled, endpoint, request, body, responseLimit)
            } catch let failure as ExchangeFailure where failure.staleConnection {} catch let failure as ExchangeFailure
            { throw failure.error }
        }
        let fresh: NetConnection
        do {
            fresh = try NetConnection(
                host: endpoint.host, port: endpoint.port, tls: endpoint.tls, caFile: caFile,
                timeout: timeout)
        } catch let error as NetError {
            throw TransportError(error.description, isPermanent: error.isPermanent)
        }
        do {
            return try exchange(on: fresh, endpoint, request, body, responseLimit)
        } catch let failure as ExchangeFailure { throw failure.error }
    }

    struct ExchangeFailure: Error {
        let error: TransportError
        let staleConnection: Bool
    }

    private func exchange(
        on connection: NetConnection, _ endpoint: HTTPEndpoint, _ request: HTTPRequestHead,
        _ body: HTTPBody, _ limit: Int
    ) throws -> HTTPResponse {
        var reader = HTTPResponseReader { try connection.read(into: $0) }
        var sent = false
        do {
            try request.write(to: connection, body: body)
            sent = true
            let response = try reader.read(method: request.method, bodyLimit: limit)
            if response.reusable { pool.put(connection, for: endpoint.key) }
            return HTTPResponse(status: response.head.status, headers: response.head.headers, body: response.body)
        } catch let error as NetError {
            let stale = reader.received == 0 && error.kind == .reset && (!sent || request.isRepeatable)
            throw ExchangeFailure(
                error: TransportError(error.description, isPermanent: error.isPermanent),
                staleConnection: stale)
        } catch let error as HTTPProtocolError {
            let stale =
                reader.received == 0 && error.description == "the connection closed before a response"
                && (!sent || request.isRepeatable)
            throw ExchangeFailure(
                error: TransportError("\(error.description) from \(endpoint.authority)"),
                staleConnection: stale)
        }
    }
}

/// Where a request goes, from its URL: the authority is sent as Host (it is what SigV4 signed)
/// and the path and query as they are, still percent-encoded.
struct HTTPEndpoint {
    let tls: Bool
    let host: String
    let port: Int
    let authority: String
    let target: String
    var key: String { "\(tls ? "https" : "http")://\(host):\(port)" }

    init(_ url: URL) throws {
        let text = url.absoluteString
        func bad(_ why: String) -> TransportError { TransportError("\(why) in \(text)", isPermanent: true) }
        guard let schemeEnd = text.range(of: "://") else { throw bad("no scheme") }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { throw bad("unsupported scheme") }
        tls = scheme == "https"
        let rest = text[schemeEnd.upperBound...]
        let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        authority = String(rest[..<slash])
        let path = String(rest[slash...])
        target = path.hasPrefix("/") ? path : "/" + path
        var hostPart = Substring(authority), portPart: Substring?
        if hostPart.hasPrefix("["), let close = hostPart.firstIndex(of: "]") {  // [IPv6]:port
            let after = hostPart[hostPart.index(after: close)...]
            portPart = after.hasPrefix(":") ? after.dropFirst() : nil
            hostPart = hostPart[hostPart.index(after: hostPart.startIndex)..<close]
        } else if let colon = hostPart.lastIndex(of: ":") {
            portPart = hostPart[hostPart.index(after: colon)...]
            hostPart = hostPart[..<colon]
        }
        host = String(hostPart)
        if let portPart {
            guard let p = Int(portPart), (1...65535).contains(p) else { throw bad("bad port") }
            port = p
        } else {
            port = tls ? 443 : 80
        }
        guard !host.isEmpty else { throw bad("no host") }
    }
}
