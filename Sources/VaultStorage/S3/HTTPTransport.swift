import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

public enum HTTPBody: Sendable {
    case none
    case bytes([UInt8])
    /// A local file streamed as the body (a spooled pack: no copy in memory).
    case file(String, size: Int)
}

public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names in lower case.
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status; self.headers = headers; self.body = body
    }
}

/// A failure below HTTP: refused, reset, timed out, name not resolved. Always worth a retry.
public struct TransportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One HTTP exchange; the S3 client signs, retries and interprets. A protocol so tests can put
/// faults between the client and the wire.
public protocol HTTPTransport: Sendable {
    func send(method: String, url: URL, headers: [(String, String)], body: HTTPBody) throws -> HTTPResponse
}

/// FoundationNetworking's URLSession (libcurl underneath: TLS, keep-alive, connection reuse),
/// called synchronously from the backend's threads.
public final class URLSessionTransport: HTTPTransport, @unchecked Sendable {
    private let session: URLSession

    public init(connections: Int, timeout: TimeInterval) {
        let config = URLSessionConfiguration.ephemeral
        config.httpMaximumConnectionsPerHost = max(connections, 1)
        config.timeoutIntervalForRequest = timeout           // no byte for this long: give up
        config.timeoutIntervalForResource = timeout * 10     // a whole exchange
        config.requestCachePolicy = .reloadIgnoringLocalAndRemoteCacheData
        config.urlCache = nil
        config.httpCookieStorage = nil
        config.httpShouldSetCookies = false
        session = URLSession(configuration: config)
    }

    deinit { session.invalidateAndCancel() }

    public func send(method: String, url: URL, headers: [(String, String)], body: HTTPBody) throws -> HTTPResponse {
        var request = URLRequest(url: url)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Data?, URLResponse?, Error?) = (nil, nil, nil)
        let handler: @Sendable (Data?, URLResponse?, Error?) -> Void = { data, response, error in
            result = (data, response, error)
            done.signal()
        }
        let task: URLSessionTask
        switch body {
        case .none:
            task = session.dataTask(with: request, completionHandler: handler)
        case .bytes(let bytes):
            request.setValue(String(bytes.count), forHTTPHeaderField: "Content-Length")
            task = session.uploadTask(with: request, from: Data(bytes), completionHandler: handler)
        case .file(let path, let size):
            request.setValue(String(size), forHTTPHeaderField: "Content-Length")
            task = session.uploadTask(with: request, fromFile: URL(fileURLWithPath: path), completionHandler: handler)
        }
        task.resume()
        done.wait()
        if let error = result.2 { throw TransportError(Self.describe(error)) }
        guard let http = result.1 as? HTTPURLResponse else { throw TransportError("no HTTP response") }
        var headers: [String: String] = [:]
        for (k, v) in http.allHeaderFields {
            if let k = k as? String, let v = v as? String { headers[k.lowercased()] = v }
        }
        return HTTPResponse(status: http.statusCode, headers: headers, body: result.0.map { [UInt8]($0) } ?? [])
    }

    static func describe(_ error: Error) -> String {
        guard let e = error as? URLError else { return "\(error)" }
        switch e.code {
        case .timedOut: return "timed out"
        case .cannotConnectToHost: return "connection refused"
        case .cannotFindHost, .dnsLookupFailed: return "host name not found"
        case .networkConnectionLost: return "connection lost"
        case .notConnectedToInternet: return "network unreachable"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate, .serverCertificateNotYetValid:
            return "TLS handshake failed (\(e.localizedDescription))"
        default: return e.localizedDescription
        }
    }
}
