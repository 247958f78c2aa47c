import Glibc
import VaultCore

/// A request's head as bytes, and the writing of it with its body. A header name or value that
/// could end the line early (CR, LF, NUL) is refused: it would let a key name or a header value
/// inject a second request.
struct HTTPRequestHead {
    let method: String
    let bytes: [UInt8]

    /// Body bytes sent per write from a file: large enough to keep the socket busy, small
    /// enough to keep several uploads in flight within a few MiB.
    static let fileChunk = 256 << 10

    init(method: String, endpoint: HTTPEndpoint, headers: [(String, String)], body: HTTPBody) throws {
        self.method = method
        var text = "\(method) \(endpoint.target) HTTP/1.1\r\nHost: \(endpoint.authority)\r\n"
        for (name, value) in headers where name.lowercased() != "content-length" && name.lowercased() != "host" {
            guard !name.isEmpty, name.utf8.allSatisfy(HTTPResponseHead.isTokenByte),
                !value.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 })
            else {
                throw TransportError(
                    "refusing to send the header \"\(name)\": it contains a line break",
                    isPermanent: true)
            }
            text += "\(name): \(value)\r\n"
        }
        guard !endpoint.target.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7f }) else {
            throw TransportError("refusing to send a request target with spaces or control bytes", isPermanent: true)
        }
        switch body {
        case .none: if method == "PUT" || method == "POST" { text += "Content-Length: 0\r\n" }
        case .bytes(let b): text += "Content-Length: \(b.count)\r\n"
        case .file(_, let size): text += "Content-Length: \(size)\r\n"
        }
        text += "\r\n"
        bytes = Array(text.utf8)
    }

    /// Whether sending it twice is the same as once, as far as the S3 client's reading of the
    /// answer goes (RFC 9110 section 9.2.2, narrowed: a conditional PUT's second 412 is not).
    var isRepeatable: Bool { method == "GET" || method == "HEAD" || method == "DELETE" }

    func write(to connection: NetConnection, body: HTTPBody) throws {
        switch body {
        case .none:
            try bytes.withUnsafeBytes { try connection.write($0) }
        case .bytes(let b):
            // One write for small bodies (one TLS record, one packet); two for large ones.
            if b.count <= 64 << 10 {
                try (bytes + b).withUnsafeBytes { try connection.write($0) }
            } else {
                try bytes.withUnsafeBytes { try connection.write($0) }
                try b.withUnsafeBytes { try connection.write($0) }
            }
        case .file(let path, let size):
            try bytes.withUnsafeBytes { try connection.write($0) }
            try Self.stream(path, size: size, to: connection)
        }
    }

    /// Sends exactly `size` bytes of the file from offset 0. A file shorter than announced
    /// is an error of ours (the spool changed under us), not of the network.
    static func stream(_ path: String, size: Int, to connection: NetConnection) throws {
        let fd = try Posix.open(path, O_RDONLY)
        defer { Posix.close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: fileChunk, alignment: 16)
        defer { buffer.deallocate() }
        var offset = 0
        while offset < size {
            let want = min(fileChunk, size - offset)
            let n = try Posix.pread(
                fd, UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]), offset: offset,
                path: path)
            guard n == want else {
                throw VaultError(
                    .storageFailure,
                    "the spool file \(path) is \(offset + n) bytes, not the \(size) being uploaded",
                    hint: "run the command again; if it repeats, check that nothing else writes to it")
            }
            try connection.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            offset += n
        }
    }
}
