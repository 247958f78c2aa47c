/// Reads one HTTP/1.1 response from a byte source (a connection, or bytes in a test): the head
/// within `headLimit` bytes, then the body framed by Content-Length, chunked coding or the end
/// of the stream, never more than `bodyLimit` bytes whatever the server announces.
public struct HTTPResponseReader {
    public typealias Source = (UnsafeMutableRawBufferPointer) throws -> Int

    /// 64 KiB of status line and headers: S3 sends well under 2 KiB; nginx's default limit is 8 KiB.
    public static let defaultHeadLimit = 64 << 10
    /// One chunk-size line or trailer line (RFC 9112 section 7.1): sizes and extensions are short.
    static let maxLineLength = 4096

    private let source: Source
    private var buffer: [UInt8] = []
    private var position = 0
    private var atEnd = false
    /// Bytes received so far: a failure before the first one may be a stale pooled connection.
    public private(set) var received = 0

    public init(source: @escaping Source) { self.source = source }

    public struct Response {
        public var head: HTTPResponseHead
        public var body: [UInt8]
        /// The connection can carry another request: the body was framed and fully read.
        public var reusable: Bool
    }

    /// `method`: a HEAD response has no body whatever its headers say.
    public mutating func read(method: String, headLimit: Int = defaultHeadLimit, bodyLimit: Int) throws -> Response {
        var head = try readHead(limit: headLimit)
        while (100...199).contains(head.status) { head = try readHead(limit: headLimit) }  // 100 Continue and friends
        if method == "HEAD" || head.status == 204 || head.status == 304 {
            return Response(head: head, body: [], reusable: head.keepsAlive)
        }
        if let coding = head.headers["transfer-encoding"] {
            guard coding.lowercased() == "chunked" else {
                throw HTTPProtocolError("unsupported transfer-encoding \"\(coding)\"")
            }
            // Both framings at once is how smuggling works: chunked wins, and the connection goes.
            let body = try readChunked(limit: bodyLimit)
            return Response(head: head, body: body, reusable: head.keepsAlive && head.headers["content-length"] == nil)
        }
        if let text = head.headers["content-length"] {
            guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
                let length = Int(text)
            else { throw HTTPProtocolError("bad content-length \"\(text)\"") }
            guard length <= bodyLimit else {
                throw HTTPProtocolError("the response body of \(length) bytes exceeds the \(bodyLimit) bytes accepted")
            }
            let body = try readExactly(length) { got in
                HTTPProtocolError("the response body was cut short after \(got) of \(length) bytes")
            }
            return Response(head: head, body: body, reusable: head.keepsAlive)
        }
        return Response(head: head, body: try readToEnd(limit: bodyLimit), reusable: false)
    }

    mutating func readHead(limit: Int) throws -> HTTPResponseHead {
        var scanned = 0  // bytes after `position` already searched (fill may move the buffer)
        while true {
            // Look for CRLF CRLF from where the last search stopped (minus 3 for a split match).
            var i = position + max(0, scanned - 3)
            while i + 3 < buffer.count {
                if buffer[i] == 13, buffer[i + 1] == 10, buffer[i + 2] == 13, buffer[i + 3] == 10 {
                    guard i - position <= limit else {
                        throw HTTPProtocolError("the response head is larger than \(limit) bytes")
                    }
                    let head = try HTTPResponseHead.parse(buffer[position..<i])
                    position = i + 4
                    return head
                }
                i += 1
            }
            scanned = buffer.count - position
            guard scanned <= limit else {
                throw HTTPProtocolError("the response head is larger than \(limit) bytes")
            }
            if try !fill() {
                throw HTTPProtocolError(
                    received == 0
                        ? "the connection closed before a response"
                        : "the connection closed inside the response head")
            }
        }
    }

    mutating func readChunked(limit: Int) throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let line = try readLine(what: "chunk size")
            let sizeText = line.prefix { $0 != UInt8(ascii: ";") }
            guard !sizeText.isEmpty, sizeText.count <= 15,
                let size = Int(String(decoding: sizeText, as: UTF8.self), radix: 16),
                sizeText.allSatisfy({ $0 != UInt8(ascii: "+") && $0 != UInt8(ascii: "-") })
            else {
                throw HTTPProtocolError("bad chunk size line \"\(HTTPResponseHead.printable(line[...]))\"")
            }
            if size == 0 { break }
            guard size <= limit - body.count else {
                throw HTTPProtocolError("the chunked response body exceeds the \(limit) bytes accepted")
            }
            body += try readExactly(size) { _ in HTTPProtocolError("the chunked response body was cut short") }
            guard try readLine(what: "chunk end").isEmpty else {
                throw HTTPProtocolError("a chunk is longer than its size")
            }
        }
        // Trailer fields, until an empty line; S3 sends none, and none are used.
        var trailerBytes = 0
        while case let line = try readLine(what: "trailer"), !line.isEmpty {
            trailerBytes += line.count
            _ = try HTTPResponseHead.field(line[...])
            guard trailerBytes <= Self.defaultHeadLimit else {
                throw HTTPProtocolError("the trailer section is too large")
            }
        }
        return body
    }

    /// One CRLF-terminated line without its CRLF.
    mutating func readLine(what: String) throws -> [UInt8] {
        var scanned = 0
        while true {
            var i = position + max(0, scanned - 1)
            while i + 1 < buffer.count {
                if buffer[i] == 13 && buffer[i + 1] == 10 {
                    let line = Array(buffer[position..<i])
                    position = i + 2
                    return line
                }
                i += 1
            }
            scanned = buffer.count - position
            guard scanned <= Self.maxLineLength else { throw HTTPProtocolError("the \(what) line is too long") }
            if try !fill() { throw HTTPProtocolError("the connection closed inside the \(what) line") }
        }
    }

    mutating func readExactly(_ count: Int, short: (Int) -> HTTPProtocolError) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(min(count, 8 << 20))  // grows with what arrives, not with what was announced
        while out.count < count {
            if position < buffer.count {
                let take = min(count - out.count, buffer.count - position)
                out += buffer[position..<(position + take)]
                position += take
                continue
            }
            if atEnd { throw short(out.count) }
            // Straight into the body: a large object is not copied a second time.
            let old = out.count, want = min(count - old, 1 << 20)
            out.append(contentsOf: repeatElement(0, count: want))
            let n = try out.withUnsafeMutableBytes { try source(UnsafeMutableRawBufferPointer(rebasing: $0[old...])) }
            out.removeLast(want - n)
            received += n
            if n == 0 { atEnd = true }
        }
        return out
    }

    mutating func readToEnd(limit: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        repeat {
            out += buffer[position...]
            position = buffer.count
            guard out.count <= limit else {
                throw HTTPProtocolError("the response body exceeds the \(limit) bytes accepted")
            }
        } while try fill()
        return out
    }

    /// Appends what the source has; false at its end. Consumed bytes are dropped first.
    private mutating func fill() throws -> Bool {
        if atEnd { return false }
        if position > 0 && position == buffer.count {
            buffer.removeAll(keepingCapacity: true); position = 0
        } else if position > 64 << 10 {
            buffer.removeFirst(position); position = 0
        }
        let old = buffer.count
        let want = 64 << 10
        buffer.append(contentsOf: repeatElement(0, count: want))
        let n = try buffer.withUnsafeMutableBytes { try source(UnsafeMutableRawBufferPointer(rebasing: $0[old...])) }
        buffer.removeLast(want - n)
        received += n
        if n == 0 { atEnd = true }
        return n > 0
    }
}
