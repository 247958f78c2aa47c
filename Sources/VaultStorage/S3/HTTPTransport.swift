import Foundation

public enum HTTPBody: Sendable {
    case none
    case bytes([UInt8])
    /// A local file streamed as the body (a spooled pack: no copy in memory), read with `pread`
    /// from its first byte on every attempt.
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

/// A failure below HTTP: refused, reset, timed out, name not resolved, a response that breaks
/// the protocol. Worth a retry, unless `isPermanent` (an untrusted certificate, a CA file that
/// cannot be read: the next attempt fails the same way).
public struct TransportError: Error, CustomStringConvertible {
    public let description: String
    public let isPermanent: Bool
    public init(_ description: String, isPermanent: Bool = false) {
        self.description = description; self.isPermanent = isPermanent
    }
}

/// One HTTP exchange; the S3 client signs, retries and interprets. A protocol so tests can put
/// faults between the client and the wire.
public protocol HTTPTransport: Sendable {
    func send(method: String, url: URL, headers: [(String, String)], body: HTTPBody) throws -> HTTPResponse
    /// `responseLimit`: the most body bytes the caller accepts; a longer response is an error,
    /// whatever its Content-Length says.
    func send(
        method: String, url: URL, headers: [(String, String)], body: HTTPBody,
        responseLimit: Int
    ) throws -> HTTPResponse
    /// `freshConnection`: on a connection opened for this exchange, never a pooled one (the
    /// second read of bytes that arrived damaged).
    func send(
        method: String, url: URL, headers: [(String, String)], body: HTTPBody,
        responseLimit: Int, freshConnection: Bool
    ) throws -> HTTPResponse
}

extension HTTPTransport {
    /// Fakes in tests answer from memory and need no limit.
    public func send(
        method: String, url: URL, headers: [(String, String)], body: HTTPBody,
        responseLimit: Int
    ) throws -> HTTPResponse {
        try send(method: method, url: url, headers: headers, body: body)
    }

    /// Fakes keep no connections: every exchange is a fresh one.
    public func send(
        method: String, url: URL, headers: [(String, String)], body: HTTPBody,
        responseLimit: Int, freshConnection: Bool
    ) throws -> HTTPResponse {
        try send(method: method, url: url, headers: headers, body: body, responseLimit: responseLimit)
    }
}
