import Foundation
import VaultCore

/// AWS Signature Version 4 (header signing), on OpenSSL's SHA-256 and HMAC. Each step is public so
/// the tests can assert the canonical request, the string to sign and the signature separately
/// against the published AWS vectors.
public struct SigV4: Sendable {
    public let accessKeyID: String
    let secretAccessKey: String
    public let region: String
    public let service: String

    public init(accessKeyID: String, secretAccessKey: String, region: String, service: String = "s3") {
        self.accessKeyID = accessKeyID; self.secretAccessKey = secretAccessKey; self.region = region;
        self.service = service
    }

    public struct Request: Sendable {
        public var method: String
        /// The URI path exactly as sent: each segment already URI-encoded once (S3 does not
        /// normalise or double-encode paths).
        public var path: String
        /// Query parameters, not encoded.
        public var query: [(String, String)]
        /// The headers to sign (at least `host` and `x-amz-date`).
        public var headers: [(String, String)]
        /// Hex SHA-256 of the body (also sent as `x-amz-content-sha256` to S3).
        public var payloadHash: String

        public init(
            method: String, path: String, query: [(String, String)] = [], headers: [(String, String)],
            payloadHash: String
        ) {
            self.method = method; self.path = path; self.query = query; self.headers = headers;
            self.payloadHash = payloadHash
        }
    }

    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// RFC 3986 unreserved characters stay, every other byte of the UTF-8 becomes %XX (upper case).
    public static func uriEncode(_ text: String, encodeSlash: Bool = true) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        let hexDigits = Array("0123456789ABCDEF")
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where !encodeSlash:
                out.append("/")
            default:
                out.append("%"); out.append(hexDigits[Int(byte >> 4)]); out.append(hexDigits[Int(byte & 15)])
            }
        }
        return out
    }

    /// `name=value` pairs, both encoded, sorted by name then value, joined by `&`.
    public static func canonicalQuery(_ query: [(String, String)]) -> String {
        query.map { (uriEncode($0.0), uriEncode($0.1)) }
            .sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// Lower-case names, values trimmed with inner runs of spaces collapsed, duplicates joined by
    /// commas, sorted by name.
    static func canonicalHeaders(_ headers: [(String, String)]) -> (block: String, signed: String) {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            let collapsed = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            merged[name.lowercased(), default: []].append(collapsed.trimmingCharacters(in: .whitespaces))
        }
        let names = merged.keys.sorted()
        let block = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
        return (block, names.joined(separator: ";"))
    }

    public func canonicalRequest(_ r: Request) -> String {
        let headers = Self.canonicalHeaders(r.headers)
        return [r.method, r.path, Self.canonicalQuery(r.query), headers.block, headers.signed, r.payloadHash].joined(
            separator: "\n")
    }

    public func scope(date: String) -> String { "\(date.prefix(8))/\(region)/\(service)/aws4_request" }

    /// `amzDate` is the request time as `YYYYMMDDTHHMMSSZ`.
    public func stringToSign(canonicalRequest: String, amzDate: String) -> String {
        "AWS4-HMAC-SHA256\n\(amzDate)\n\(scope(date: amzDate))\n\(SHA256.hash(canonicalRequest).hex)"
    }

    public func signingKey(date: String) -> [UInt8] {
        let kDate = HMAC.sha256(key: Array("AWS4\(secretAccessKey)".utf8), String(date.prefix(8)))
        let kRegion = HMAC.sha256(key: kDate, region)
        let kService = HMAC.sha256(key: kRegion, service)
        return HMAC.sha256(key: kService, "aws4_request")
    }

    public func signature(stringToSign: String, amzDate: String) -> String {
        Hex.encode(HMAC.sha256(key: signingKey(date: amzDate), stringToSign))
    }

    /// The `Authorization` header value for `r` at `amzDate`.
    public func authorization(_ r: Request, amzDate: String) -> String {
        let sts = stringToSign(canonicalRequest: canonicalRequest(r), amzDate: amzDate)
        let signed = Self.canonicalHeaders(r.headers).signed
        return
            "AWS4-HMAC-SHA256 Credential=\(accessKeyID)/\(scope(date: amzDate)), SignedHeaders=\(signed), Signature=\(signature(stringToSign: sts, amzDate: amzDate))"
    }
}
