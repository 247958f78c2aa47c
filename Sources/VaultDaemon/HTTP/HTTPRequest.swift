import Foundation

/// An HTTP/1.1 request as the health and API server accepts it: small, strict, no chunked bodies.
public struct HTTPRequest: Sendable, Equatable {
    public var method: String
    /// The path without the query.
    public var path: String
    public var query: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public static func == (a: HTTPRequest, b: HTTPRequest) -> Bool {
        a.method == b.method && a.path == b.path && a.query == b.query && a.body == b.body
            && a.headers.map(\.name) == b.headers.map(\.name) && a.headers.map(\.value) == b.headers.map(\.value)
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    public var extraHeaders: [(String, String)]

    public init(
        status: Int, contentType: String = "text/plain; charset=utf-8", body: [UInt8],
        extraHeaders: [(String, String)] = []
    ) {
        self.status = status; self.contentType = contentType; self.body = body; self.extraHeaders = extraHeaders
    }

    public init(status: Int, text: String) { self.init(status: status, body: Array((text + "\n").utf8)) }

    static let reasons: [Int: String] = [
        200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
        405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict", 410: "Gone", 413: "Content Too Large",
        414: "URI Too Long", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
        501: "Not Implemented", 503: "Service Unavailable", 505: "HTTP Version Not Supported"
    ]

    /// The bytes on the wire; every response closes the connection (no keep-alive state to exhaust).
    public func serialized(headOnly: Bool = false) -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(Self.reasons[status] ?? "Status")\r\n"
        head += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        head += "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
        for (name, value) in extraHeaders { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + (headOnly ? [] : body)
    }
}

/// Limits that bound what one client can make the server hold.
public struct HTTPLimits: Sendable {
    public var maxRequestLine = 4096
    public var maxHeaderBytes = 16 << 10
    public var maxHeaders = 64
    public var maxBody = 64 << 10
    public init() {}
}

public enum HTTPParseResult: Equatable {
    case incomplete
    case request(HTTPRequest)
    case error(status: Int, reason: String)
}

/// Parses one request from the bytes received so far. Pure (no I/O), so it is table-tested and
/// fuzzed on its own. Anything not plainly valid is an error with the status to answer.
public enum HTTPParser {
    public static func parse(_ data: [UInt8], limits: HTTPLimits = HTTPLimits()) -> HTTPParseResult {
        // One pass over what arrived: the end of the head (CRLF CRLF), the end of the first line,
        // the first space, and any byte a request head cannot hold. This runs on every read of
        // every connection, so it is one loop without bounds checks.
        var headEnd: Int?, firstLineEnd: Int?, firstSpace: Int?, invalid = false
        data.withUnsafeBufferPointer { p in
            var i = 0
            while i < p.count {
                let b = p[i]
                if b == 10 {
                    if firstLineEnd == nil { firstLineEnd = i }
                    if i >= 3 && p[i - 1] == 13 && p[i - 2] == 10 && p[i - 3] == 13 { headEnd = i - 3; break }
                } else if b == 32 {
                    if firstSpace == nil { firstSpace = i }
                } else if !(b == 13 || b == 9 || (33...126).contains(b)) {
                    invalid = true
                    break
                }
                i += 1
            }
        }
        // Garbage is refused as soon as it arrives, not when the deadline ends a head that never
        // comes: a request head is printable ASCII, and starts with an upper-case method.
        if invalid { return .error(status: 400, reason: "non-ASCII or control bytes in the request head") }
        let methodEnd = min(firstSpace ?? data.count, firstLineEnd ?? data.count)
        if methodEnd > 16 || data[0..<methodEnd].contains(where: { !(65...90).contains($0) }) {
            return .error(status: 400, reason: "malformed method")
        }
        if firstLineEnd == nil && data.count > limits.maxRequestLine {
            return .error(status: 414, reason: "request line too long")
        }
        if let e = firstLineEnd, e > limits.maxRequestLine {
            return .error(status: 414, reason: "request line too long")
        }
        guard let end = headEnd else {
            return data.count > limits.maxHeaderBytes
                ? .error(status: 431, reason: "request head too large") : .incomplete
        }
        if end > limits.maxHeaderBytes { return .error(status: 431, reason: "request head too large") }
        let head = data[0..<end]
        let lines = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = lines[0].split(separator: " ", omittingEmptySubsequences: false)
        guard requestLine.count == 3 else { return .error(status: 400, reason: "malformed request line") }
        let method = String(requestLine[0]), target = String(requestLine[1]), version = String(requestLine[2])
        guard !method.isEmpty, method.allSatisfy({ $0.isUppercase && $0.isLetter }) else {
            return .error(status: 400, reason: "malformed method")
        }
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            return version.hasPrefix("HTTP/")
                ? .error(status: 505, reason: "only HTTP/1.x") : .error(status: 400, reason: "malformed version")
        }
        guard target.hasPrefix("/"), !target.contains("#") else {
            return .error(status: 400, reason: "the target must be an absolute path")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else {
                return .error(status: 400, reason: "header line without a colon")
            }
            let name = String(line[..<colon])
            // No obsolete line folding, no space before the colon (request smuggling vectors).
            guard !name.isEmpty, !line.hasPrefix(" "), !line.hasPrefix("\t"),
                name.allSatisfy({ $0.isLetter || $0.isNumber || "-_!#$%&'*+.^`|~".contains($0) })
            else {
                return .error(status: 400, reason: "malformed header name")
            }
            headers.append((name, line[line.index(after: colon)...].trimmingCharacters(in: [" ", "\t"])))
            if headers.count > limits.maxHeaders { return .error(status: 431, reason: "too many headers") }
        }
        if headers.contains(where: { $0.name.lowercased() == "transfer-encoding" }) {
            return .error(status: 501, reason: "Transfer-Encoding is not supported; send Content-Length")
        }
        let lengths = headers.filter { $0.name.lowercased() == "content-length" }.map(\.value)
        var bodyLength = 0
        if !lengths.isEmpty {
            guard Set(lengths).count == 1, let n = Int(lengths[0]), n >= 0, lengths[0].allSatisfy(\.isNumber) else {
                return .error(status: 400, reason: "invalid or conflicting Content-Length")
            }
            bodyLength = n
        }
        if bodyLength > limits.maxBody {
            return .error(status: 413, reason: "body larger than \(limits.maxBody) bytes")
        }
        let bodyStart = end + 4
        guard data.count >= bodyStart + bodyLength else { return .incomplete }
        let path: String, query: String
        if let q = target.firstIndex(of: "?") {
            path = String(target[..<q]); query = String(target[target.index(after: q)...])
        } else {
            path = target; query = ""
        }
        return .request(
            HTTPRequest(
                method: method, path: path, query: query, headers: headers,
                body: Array(data[bodyStart..<(bodyStart + bodyLength)])))
    }
}
