import Testing
import VaultDaemon

func parse(_ s: String) -> HTTPParseResult { HTTPParser.parse(Array(s.utf8)) }

@Test func aSimpleGetParses() {
    guard case .request(let r) = parse("GET /readyz?verbose HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n\r\n")
    else { Issue.record("no request"); return }
    #expect(r.method == "GET" && r.path == "/readyz" && r.query == "verbose")
    #expect(r.header("authorization") == "Bearer t")
}

@Test func aPostWaitsForItsWholeBody() {
    #expect(parse("POST /v1/restores HTTP/1.1\r\nContent-Length: 5\r\n\r\nab") == .incomplete)
    guard case .request(let r) = parse("POST /v1/restores HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde") else {
        Issue.record("no request"); return
    }
    #expect(r.body == Array("abcde".utf8))
    #expect(parse("GET / HTTP/1.1\r\nHost: x\r\n") == .incomplete)
}

@Test(arguments: [
    ("GET / HTTP/1.1\r\nHost x\r\n\r\n", 400),
    ("get / HTTP/1.1\r\n\r\n", 400),
    ("GET / HTTP/2.0\r\n\r\n", 505),
    ("GET / FOO\r\n\r\n", 400),
    ("GET http://evil/ HTTP/1.1\r\n\r\n", 400),
    ("GET  / HTTP/1.1\r\n\r\n", 400),
    ("GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", 400),
    ("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    ("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
    ("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
    ("POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc", 400),
    ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
    ("POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413),
    ("GET /\u{1} HTTP/1.1\r\n\r\n", 400),
    ("GET /é HTTP/1.1\r\n\r\n", 400)
])
func malformedRequestsGetTheRightStatus(_ text: String, _ status: Int) {
    guard case .error(let s, _) = parse(text) else { Issue.record("accepted: \(text.debugDescription)"); return }
    #expect(s == status, "\(text.debugDescription)")
}

@Test func oversizedRequestsAreRefusedBeforeTheyComplete() {
    #expect(
        {
            if case .error(414, _) = parse("GET /" + String(repeating: "a", count: 5000)) { return true }; return false
        }())
    #expect(
        {
            if case .error(431, _) = parse("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 20_000)) {
                return true
            }; return false
        }())
    let manyHeaders = "GET / HTTP/1.1\r\n" + (0..<100).map { "H\($0): v\r\n" }.joined() + "\r\n"
    #expect(
        {
            if case .error(431, _) = parse(manyHeaders) { return true }; return false
        }())
}

/// Garbage gets its 400 at once instead of holding the connection until the deadline.
@Test func garbageIsRefusedBeforeAHeadCouldEnd() {
    #expect(
        {
            if case .error(400, _) = HTTPParser.parse([0x16, 0x03, 0x01, 0x02]) { return true }; return false
        }())  // a TLS hello
    #expect(
        {
            if case .error(400, _) = parse("hello there") { return true }; return false
        }())
    #expect(
        {
            if case .error(400, _) = parse("GETTINGVERYLONGMETHOD") { return true }; return false
        }())
    #expect(parse("GE") == .incomplete)
    #expect(parse("GET /livez HTTP/1.1\r\nX-Slow: ") == .incomplete)
}

@Test func headResponsesHaveNoBodyButTheLength() {
    let r = HTTPResponse(status: 200, text: "ok")
    #expect(
        String(decoding: r.serialized(headOnly: true), as: UTF8.self).hasSuffix(
            "Content-Length: 3\r\nConnection: close\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n"
        ))
    #expect(String(decoding: r.serialized(), as: UTF8.self).hasSuffix("\r\n\r\nok\n"))
}
