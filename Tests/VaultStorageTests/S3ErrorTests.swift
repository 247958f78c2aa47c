import Foundation
import Synchronization
import Testing
import VaultCore
@_spi(Repository) import VaultStorage

/// Canned answers in place of the network: what is retried, what is not, and what the operator
/// is told for each S3 error a real server gives.
final class CannedTransport: HTTPTransport, Sendable {
    typealias Request = (method: String, url: URL, headers: [(String, String)])
    private let state: Mutex<(answers: [Result<HTTPResponse, TransportError>], requests: [Request])>
    var requests: [Request] { state.withLock { $0.requests } }

    init(_ answers: [Result<HTTPResponse, TransportError>]) { state = Mutex((answers, [])) }

    func send(method: String, url: URL, headers: [(String, String)], body: HTTPBody) throws -> HTTPResponse {
        let next: Result<HTTPResponse, TransportError> = state.withLock {
            $0.requests.append((method, url, headers))
            return $0.answers.isEmpty ? .success(HTTPResponse(status: 200)) : $0.answers.removeFirst()
        }
        return try next.get()
    }

    var count: Int { state.withLock { $0.requests.count } }
}

private func error(_ code: String, status: Int, extra: String = "") -> Result<HTTPResponse, TransportError> {
    .success(
        HTTPResponse(
            status: status,
            body: Array(
                "<?xml version=\"1.0\"?><Error><Code>\(code)</Code><Message>m &amp; more</Message>\(extra)</Error>".utf8
            )))
}

private func backend(_ transport: CannedTransport, attempts: Int = 4) throws -> S3Backend {
    try S3Backend(
        location: S3Location.parse("s3:https://s3.example.com/bkt/node", environment: [:]),
        credentials: S3Credentials(accessKeyID: "AKID", secretAccessKey: "SECRET", source: "test"),
        transport: transport, retry: .init(attempts: attempts, baseDelay: 0.001, maxDelay: 0.002))
}

@Test func transientFailuresAreRetriedThenSucceed() throws {
    let t = CannedTransport([
        .failure(TransportError("connection reset")), error("SlowDown", status: 503),
        error("InternalError", status: 500),
        .success(HTTPResponse(status: 200, headers: ["content-length": "3"], body: [1, 2, 3]))
    ])
    let b = try backend(t, attempts: 5)
    #expect(try b.read(ObjectHandle(.index, "x")) == [1, 2, 3])
    #expect(t.count == 4 && b.client.retries == 3)
    // Each attempt is signed afresh, with the payload hash and the date.
    let auth = t.requests.map { $0.headers.first { $0.0 == "Authorization" }?.1 ?? "" }
    #expect(
        auth.allSatisfy {
            $0.hasPrefix("AWS4-HMAC-SHA256 Credential=AKID/")
                && $0.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date")
        })
    #expect(!auth.joined().contains("SECRET"))
}

@Test func aBodyCutShortIsRetried() throws {
    let t = CannedTransport([
        .success(HTTPResponse(status: 206, headers: ["content-range": "bytes 0-9/100"], body: [1, 2])),
        .success(
            HTTPResponse(status: 206, headers: ["content-range": "bytes 0-9/100"], body: Array(repeating: 7, count: 10))
        )
    ])
    let b = try backend(t)
    #expect(try b.read(ObjectHandle(.pack, "p"), range: 0..<10) == Array(repeating: 7, count: 10))
    #expect(t.count == 2)
}

@Test func clientErrorsAreNotRetriedAndSayWhatToDo() throws {
    let cases: [(Result<HTTPResponse, TransportError>, String, String)] = [
        (error("AccessDenied", status: 403), "access denied", "s3:PutObject"),
        (error("InvalidAccessKeyId", status: 403), "does not know", "AWS_ACCESS_KEY_ID"),
        (error("SignatureDoesNotMatch", status: 403), "secret key is wrong", "AWS_SECRET_ACCESS_KEY"),
        (error("RequestTimeTooSkewed", status: 403), "clock", "timedatectl"),
        (
            error("AuthorizationHeaderMalformed", status: 400, extra: "<Region>eu-central-1</Region>"),
            "it is in eu-central-1", "AWS_REGION=eu-central-1"
        ),
        (error("NoSuchBucket", status: 404), "does not exist", "create the bucket")
    ]
    for (answer, message, hint) in cases {
        let t = CannedTransport([answer])
        let b = try backend(t)
        let e = #expect(throws: VaultError.self) { try b.write(ObjectHandle(.index, "x"), [1]) }
        #expect(e?.message.contains(message) == true, "\(String(describing: e))")
        #expect(e?.hint?.contains(hint) == true, "\(String(describing: e))")
        #expect(e?.causeDescription?.contains("m & more") == true, "the server's message, unescaped")
        #expect(t.count == 1, "a 4xx is not retried")
    }
}

@Test func aConditionalPutThatFindsTheObjectIsAlreadyExistsUnlessItWasOurRetry() throws {
    let first = CannedTransport([.success(HTTPResponse(status: 412))])
    let e = #expect(throws: VaultError.self) { try backend(first).write(ObjectHandle(.snapshot, "s"), [1]) }
    #expect(e?.code == .alreadyExists)
    #expect(first.requests[0].headers.contains { $0.0 == "if-none-match" && $0.1 == "*" })
    // The first PUT arrived but its answer was lost; the retry finds our own object.
    let retried = CannedTransport([.failure(TransportError("timed out")), .success(HTTPResponse(status: 412))])
    try backend(retried).write(ObjectHandle(.snapshot, "s"), [1])
}

@Test func listingFollowsContinuationTokens() throws {
    func page(_ keys: [String], next: String?) -> Result<HTTPResponse, TransportError> {
        let contents = keys.map { "<Contents><Key>node/locks/\($0)</Key><Size>5</Size></Contents>" }.joined()
        let tail =
            next.map { "<IsTruncated>true</IsTruncated><NextContinuationToken>\($0)</NextContinuationToken>" }
            ?? "<IsTruncated>false</IsTruncated>"
        return .success(
            HTTPResponse(status: 200, body: Array("<ListBucketResult>\(contents)\(tail)</ListBucketResult>".utf8)))
    }
    let t = CannedTransport([page(["a", "b"], next: "tok+/="), page(["c"], next: nil)])
    let names = try backend(t).list(.lock).map(\.name)
    #expect(names == ["a", "b", "c"])
    #expect(t.requests[1].url.absoluteString.contains("continuation-token=tok%2B%2F%3D"))
    #expect(t.requests[0].url.absoluteString.contains("prefix=node%2Flocks%2F"))
}

/// A listing that cannot be proven complete is an error, never a shorter list or an endless loop.
@Test(arguments: [
    ("<IsTruncated>true</IsTruncated>", "gives no NextContinuationToken"),
    ("<IsTruncated>true</IsTruncated><NextContinuationToken>same</NextContinuationToken>", "token same a second time"),
    ("", "not a complete ListBucketResult")
])
func aListingThatCannotBeProvenCompleteIsAnError(tail: String, message: String) throws {
    let body =
        "<ListBucketResult><Contents><Key>node/snapshots/a</Key><Size>5</Size></Contents>\(tail)</ListBucketResult>"
    // The same page again and again: the repeated token must stop the listing, not loop.
    let t = CannedTransport(Array(repeating: .success(HTTPResponse(status: 200, body: Array(body.utf8))), count: 5))
    let e = #expect(throws: VaultError.self) { try backend(t).list(.snapshot) }
    #expect(e?.code == .storageFailure && e?.message.contains("listing snapshots/") == true, "\(String(describing: e))")
    #expect(
        e?.message.contains("cannot be proven complete") == true && e?.message.contains(message) == true,
        "\(String(describing: e))")
    #expect(e?.hint?.contains("nothing was deleted") == true)
    #expect(t.count <= 2, "no endless loop: \(t.count) requests")
}

@Test func giveUpAfterTheLastAttemptWithTheCause() throws {
    let t = CannedTransport(Array(repeating: error("ServiceUnavailable", status: 503), count: 3))
    let e = #expect(throws: VaultError.self) { try backend(t, attempts: 3).stat(ObjectHandle(.index, "x")) }
    #expect(
        e?.code == .storageFailure && e?.message.contains("after 3 attempts: HTTP 503 ServiceUnavailable") == true,
        "\(String(describing: e))")
}
