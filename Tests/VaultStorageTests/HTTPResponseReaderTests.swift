import Foundation
import Testing
import VaultCore
@testable import VaultStorage

/// Bytes handed out a few at a time (the split sizes cycle), as a socket does: every framing
/// decision must hold whatever the boundaries of the reads.
func source(_ text: String, splits: [Int] = [1, 7, 3, 64, 2]) -> HTTPResponseReader.Source {
    let bytes = Array(text.utf8)
    // nonisolated(unsafe): the source is a reader's own, called by one thread (the parser) in turn.
    nonisolated(unsafe) var offset = 0, turn = 0
    return { buffer in
        let n = min(buffer.count, bytes.count - offset, splits[turn % splits.count])
        turn += 1
        bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + n)])) }
        offset += n
        return n
    }
}

struct ParseCase: CustomTestStringConvertible, Sendable {
    let name: String
    let wire: String
    var method = "GET"
    var limit = 1 << 20
    /// Expected status, body and reusability; nil when an error naming `error` is expected.
    var status: Int? = nil
    var body = ""
    var reusable = true
    var error = ""
    var testDescription: String { name }
}

let parseCases: [ParseCase] = [
    .init(
        name: "content-length", wire: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: \"x\"\r\n\r\nhello", status: 200,
        body: "hello"),
    .init(name: "empty reason phrase", wire: "HTTP/1.1 204\r\n\r\n", status: 204),
    .init(
        name: "HTTP/1.0 closes", wire: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", status: 200, body: "ok",
        reusable: false),
    .init(
        name: "connection close", wire: "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n",
        status: 200, reusable: false),
    .init(
        name: "chunked with extensions and trailers",
        wire:
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n1;x\r\n \r\nA\r\n0123456789\r\n0\r\nx-amz-checksum: abc\r\nx-other: 1\r\n\r\n",
        status: 200, body: "hello 0123456789"),
    .init(
        name: "chunked then the next response's bytes stay unread",
        wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", status: 200, body: "ok"),
    .init(
        name: "HEAD has no body", wire: "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", method: "HEAD", status: 200),
    .init(
        name: "100 continue is skipped",
        wire: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", status: 201),
    .init(
        name: "until close", wire: "HTTP/1.1 200 OK\r\n\r\nall of it", status: 200, body: "all of it", reusable: false),
    .init(
        name: "repeated equal content-length",
        wire: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", status: 200, body: "x"),
    .init(
        name: "both framings: chunked wins, connection dropped",
        wire: "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n",
        status: 200, body: "z", reusable: false),
    // Errors, each with the words the message must carry.
    .init(name: "not HTTP", wire: "SSH-2.0-OpenSSH_9.2\r\n\r\n", error: "bad status line"),
    .init(name: "HTTP/2 status line", wire: "HTTP/2 200 OK\r\n\r\n", error: "bad status line"),
    .init(name: "two-digit status", wire: "HTTP/1.1 20 OK\r\n\r\n", error: "bad status line"),
    .init(name: "status 999", wire: "HTTP/1.1 999 What\r\n\r\n", error: "bad status line"),
    .init(name: "no space after status", wire: "HTTP/1.1 200OK\r\n\r\n", error: "bad status line"),
    .init(
        name: "header without colon", wire: "HTTP/1.1 200 OK\r\nContent-Length 5\r\n\r\nhello", error: "bad header line"
    ),
    .init(
        name: "space before colon", wire: "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello", error: "bad header line"
    ),
    .init(name: "obsolete line folding", wire: "HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\n\r\n", error: "bad header line"),
    .init(
        name: "bare LF inside a header", wire: "HTTP/1.1 200 OK\r\nX-A: b\nContent-Length: 0\r\n\r\n",
        error: "control character"),
    .init(
        name: "conflicting content-length", wire: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
        error: "conflicting"),
    .init(
        name: "negative content-length", wire: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        error: "bad content-length"),
    .init(
        name: "content-length with a sign", wire: "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
        error: "bad content-length"),
    .init(
        name: "content-length beyond the limit", wire: "HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n",
        error: "exceeds the 1048576 bytes"),
    .init(
        name: "content-length of 2^63", wire: "HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\n",
        error: "bad content-length"),
    .init(
        name: "chunked beyond the limit",
        wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n0\r\n\r\n",
        limit: 5, error: "exceeds the 5 bytes"),
    .init(
        name: "until close beyond the limit", wire: "HTTP/1.1 200 OK\r\n\r\n" + String(repeating: "x", count: 100),
        limit: 10, error: "exceeds the 10 bytes"),
    .init(
        name: "bad chunk size", wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        error: "bad chunk size"),
    .init(
        name: "chunk size with a sign",
        wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n", error: "bad chunk size"),
    .init(
        name: "chunk longer than its size",
        wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
        error: "longer than its size"),
    .init(
        name: "gzip transfer coding", wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        error: "unsupported transfer-encoding"),
    .init(
        name: "truncated content-length body", wire: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
        error: "cut short after 5 of 10 bytes"),
    .init(
        name: "truncated chunked body", wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
        error: "cut short"),
    .init(
        name: "truncated before the last chunk",
        wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", error: "chunk size"),
    .init(name: "truncated head", wire: "HTTP/1.1 200 OK\r\nContent-Len", error: "closed inside the response head"),
    .init(name: "nothing at all", wire: "", error: "closed before a response"),
    .init(
        name: "oversized head",
        wire: "HTTP/1.1 200 OK\r\n" + String(repeating: "X-Filler: 0123456789abcdef\r\n", count: 3000) + "\r\n",
        error: "larger than 65536 bytes"),
    .init(
        name: "too many header lines", wire: "HTTP/1.1 200 OK\r\n" + String(repeating: "A: b\r\n", count: 200) + "\r\n",
        error: "more than 128 header lines"),
    .init(
        name: "endless chunk size line",
        wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + String(repeating: "e", count: 9000),
        error: "line is too long")
]

@Test(arguments: parseCases)
func responsesParseStrictly(_ c: ParseCase) throws {
    for splits in [[1], [1, 7, 3, 64, 2], [1 << 20]] {
        var reader = HTTPResponseReader(source: source(c.wire, splits: splits))
        if let status = c.status {
            let r = try reader.read(method: c.method, bodyLimit: c.limit)
            #expect(
                r.head.status == status && String(decoding: r.body, as: UTF8.self) == c.body
                    && r.reusable == c.reusable,
                "\(c.name) split \(splits)")
        } else {
            let error = #expect(throws: HTTPProtocolError.self, "\(c.name) split \(splits)") {
                try reader.read(method: c.method, bodyLimit: c.limit)
            }
            #expect(error?.description.contains(c.error) == true, "\(c.name): \(error?.description ?? "no error")")
        }
    }
}

@Test func headersAreLowerCasedJoinedAndTrimmed() throws {
    var reader = HTTPResponseReader(
        source: source("HTTP/1.1 200 OK\r\nX-Amz-Meta:  a \r\nx-amz-meta:b\r\nContent-Length: 0\r\n\r\n"))
    let r = try reader.read(method: "GET", bodyLimit: 0)
    #expect(r.head.headers["x-amz-meta"] == "a, b")
}

@Test func twoResponsesOnOneConnectionAreReadInTurn() throws {
    var reader = HTTPResponseReader(
        source: source(
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"
                + "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n"))
    let first = try reader.read(method: "GET", bodyLimit: 10)
    let second = try reader.read(method: "GET", bodyLimit: 10)
    #expect(
        String(decoding: first.body, as: UTF8.self) == "one" && second.head.status == 404
            && String(decoding: second.body, as: UTF8.self) == "two")
}

@Test func endpointsComeFromTheURL() throws {
    let a = try HTTPEndpoint(URL(string: "https://s3.example.com/bkt/a%20b?list-type=2&prefix=x%2F")!)
    #expect(
        a.tls && a.host == "s3.example.com" && a.port == 443 && a.authority == "s3.example.com"
            && a.target == "/bkt/a%20b?list-type=2&prefix=x%2F")
    let b = try HTTPEndpoint(URL(string: "http://[::1]:9000/b")!)
    #expect(!b.tls && b.host == "::1" && b.port == 9000 && b.authority == "[::1]:9000")
}
