import Foundation
import Glibc
import Synchronization
import VaultCore

/// Signs and sends S3 requests, retrying what can be retried: transport failures (refused, reset,
/// timed out, a body cut short), 500/502/503/504 and 429/SlowDown, with exponential backoff and
/// jitter (each wait drawn from the upper half of its step, so many clients spread out). Every
/// request the backend makes is idempotent (GET, HEAD, DELETE, and PUTs of objects whose names
/// are content hashes or random), so a retry never does harm.
public final class S3Client: Sendable {
    public struct RetryPolicy: Sendable {
        public var attempts: Int
        public var baseDelay: TimeInterval
        public var maxDelay: TimeInterval
        public init(attempts: Int = 8, baseDelay: TimeInterval = 0.2, maxDelay: TimeInterval = 10) {
            self.attempts = max(attempts, 1); self.baseDelay = baseDelay; self.maxDelay = maxDelay
        }
    }

    public let location: S3Location
    let credentials: S3Credentials
    let signer: SigV4
    let transport: HTTPTransport
    let retry: RetryPolicy
    private let retriesMade = Mutex(0)

    public init(location: S3Location, credentials: S3Credentials, transport: HTTPTransport, retry: RetryPolicy) {
        self.location = location; self.credentials = credentials; self.transport = transport; self.retry = retry
        signer = credentials.signer(region: location.region)
    }

    /// Retries made so far (for reports and tests).
    public var retries: Int { retriesMade.withLock { $0 } }

    struct Outcome {
        var response: HTTPResponse
        var attempts: Int
    }

    static func amzDate(_ date: Date = Date()) -> String {
        var t = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(
            format: "%04d%02d%02dT%02d%02d%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec)
    }

    /// Sends one request, retrying transient failures. Returns the first non-transient response
    /// (the caller interprets 4xx); throws when every attempt failed.
    /// `isComplete`: false for a 2xx whose body was cut short, which is retried.
    /// `responseLimit`: the most body bytes accepted (an object's range, or error documents).
    /// `freshConnection`: every attempt on a new connection (a re-read after damage).
    func send(
        _ method: String, key: String?, query: [(String, String)] = [], headers extra: [(String, String)] = [],
        body: HTTPBody = .none, payloadHash: String = SigV4.emptyPayloadHash,
        responseLimit: Int = HTTP1Transport.defaultResponseLimit,
        isComplete: ((HTTPResponse) -> Bool)? = nil, freshConnection: Bool = false,
        what: String
    ) throws -> Outcome {
        let path = location.path(forKey: key)
        let url = location.url(path: path, query: query)
        var lastProblem = ""
        for attempt in 1...retry.attempts {
            if attempt > 1 {
                retriesMade.withLock { $0 += 1 }
                let cap = min(retry.maxDelay, retry.baseDelay * pow(2, Double(attempt - 2)))
                Thread.sleep(forTimeInterval: Double.random(in: cap / 2...cap))
            }
            let date = Self.amzDate()
            var headers: [(String, String)] = [
                ("host", location.hostHeader()), ("x-amz-date", date), ("x-amz-content-sha256", payloadHash)
            ]
            if let token = credentials.sessionToken { headers.append(("x-amz-security-token", token)) }
            headers += extra
            let request = SigV4.Request(
                method: method, path: path, query: query, headers: headers, payloadHash: payloadHash)
            var sent = headers.filter { $0.0 != "host" }  // the HTTP client writes Host from the URL
            sent.append(("Authorization", signer.authorization(request, amzDate: date)))
            let response: HTTPResponse
            do {
                response = try transport.send(
                    method: method, url: url, headers: sent, body: body,
                    responseLimit: responseLimit, freshConnection: freshConnection)
            } catch let error as TransportError where error.isPermanent {
                throw VaultError(
                    .storageFailure, "\(what) failed at \(location): \(error.description)",
                    hint: location.scheme == "https"
                        ? "if the S3 server's certificate comes from a private CA, set CHAINVAULT_S3_CA_FILE to that CA's certificate (PEM); otherwise check the endpoint in --repo"
                        : "check the endpoint in --repo")
            } catch let error as TransportError {
                lastProblem = error.description
                continue
            }
            if Self.isTransient(response) {
                lastProblem =
                    "HTTP \(response.status)"
                    + (S3XML.value("Code", in: String(decoding: response.body, as: UTF8.self)).map { " \($0)" } ?? "")
                continue
            }
            if let isComplete, (200..<300).contains(response.status), !isComplete(response) {
                lastProblem = "the response body was cut short after \(response.body.count) bytes"
                continue
            }
            return Outcome(response: response, attempts: attempt)
        }
        throw VaultError(
            .storageFailure, "\(what) failed at \(location) after \(retry.attempts) attempts: \(lastProblem)",
            hint: lastProblem.hasPrefix("HTTP")
                ? "the S3 server keeps failing; check its health and run the command again (completed work is kept and reused)"
                : "check that the endpoint \(location.scheme)://\(location.hostHeader(bucketHost: false)) is reachable from this host; run the command again when it is (completed work is kept and reused)"
        )
    }

    static func isTransient(_ r: HTTPResponse) -> Bool {
        switch r.status {
        case 500, 502, 503, 504, 429: return true
        case 400:
            let code = S3XML.value("Code", in: String(decoding: r.body, as: UTF8.self))
            return code == "RequestTimeout" || code == "SlowDown"
        default: return false
        }
    }

    /// An error an operator can act on, from a final non-2xx response.
    func error(_ r: HTTPResponse, what: String) -> VaultError {
        let xml = String(decoding: r.body, as: UTF8.self)
        let code = S3XML.value("Code", in: xml) ?? "HTTP \(r.status)"
        let message = S3XML.value("Message", in: xml)
        let cause = S3ErrorResponse(code: code, message: message)
        let at = "\(location)"
        switch code {
        case "NoSuchBucket":
            return VaultError(
                .notARepository,
                "the bucket \(location.bucket) does not exist at \(location.scheme)://\(location.hostHeader(bucketHost: false))",
                cause: cause,
                hint: "create the bucket first (chainvault never creates buckets), or check the name in --repo")
        case "AccessDenied", "AllAccessDisabled", "AccountProblem":
            return VaultError(
                .storageFailure, "\(what): access denied at \(at) for \(credentials)", cause: cause,
                hint: what.hasPrefix("deleting")
                    ? "this key may not delete (an append-only node's): run forget and prune on the pruning "
                        + "host with its credential, and run this node with --append-only"
                    : "grant this key s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket on the bucket")
        case "InvalidAccessKeyId":
            return VaultError(
                .storageFailure, "\(what): the S3 server does not know \(credentials)", cause: cause,
                hint: "check AWS_ACCESS_KEY_ID or the credentials file and profile")
        case "SignatureDoesNotMatch":
            return VaultError(
                .storageFailure,
                "\(what): the S3 server rejected the request signature for \(credentials): the secret key is wrong",
                cause: cause,
                hint: "check AWS_SECRET_ACCESS_KEY or the credentials file and profile")
        case "RequestTimeTooSkewed":
            return VaultError(
                .storageFailure,
                "\(what): this host's clock differs too much from the S3 server's (now \(Self.amzDate()) here)",
                cause: cause,
                hint: "synchronise the clock (timedatectl set-ntp true, or chrony) and run the command again")
        case "AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException":
            let region = S3XML.value("Region", in: xml) ?? r.headers["x-amz-bucket-region"]
            return VaultError(
                .storageFailure,
                "\(what): the bucket \(location.bucket) is not in region \(location.region)\(region.map { " (it is in \($0))" } ?? "")",
                cause: cause,
                hint: "set AWS_REGION=\(region ?? "<the bucket's region>")")
        default:
            if r.status == 301 || r.headers["x-amz-bucket-region"] != nil && r.status == 400 {
                let region = r.headers["x-amz-bucket-region"]
                return VaultError(
                    .storageFailure,
                    "\(what): the bucket \(location.bucket) is not in region \(location.region)\(region.map { " (it is in \($0))" } ?? "")",
                    cause: cause, hint: "set AWS_REGION=\(region ?? "<the bucket's region>")")
            }
            if r.status == 403 {
                return VaultError(
                    .storageFailure, "\(what): forbidden at \(at) for \(credentials)", cause: cause,
                    hint: "check the credentials and the bucket policy")
            }
            return VaultError(
                .storageFailure, "\(what) failed at \(at): HTTP \(r.status)", cause: cause,
                hint: "check the S3 server's logs; run the command again (completed work is kept and reused)")
        }
    }
}
