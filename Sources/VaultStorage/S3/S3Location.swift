import Foundation
import VaultCore

/// Where an S3 repository lives: `s3:https://HOST[:PORT]/BUCKET[/PREFIX]`, or `s3:BUCKET[/PREFIX]`
/// with the endpoint from `AWS_ENDPOINT_URL` (default: AWS in the region). Path-style requests by
/// default (every S3-compatible server supports them); `CHAINVAULT_S3_VIRTUAL_HOST=1` sends
/// `BUCKET.HOST` instead, which AWS prefers and some gateways require.
public struct S3Location: Sendable, Equatable, CustomStringConvertible {
    public var scheme: String
    public var host: String
    public var port: Int?
    public var bucket: String
    /// Object key prefix without leading or trailing slash ("" for the bucket root).
    public var prefix: String
    public var region: String
    public var virtualHost: Bool

    public var description: String {
        "s3:\(scheme)://\(hostHeader(bucketHost: false))/\(bucket)\(prefix.isEmpty ? "" : "/" + prefix)"
    }

    public static func parse(_ spec: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> S3Location
    {
        guard spec.hasPrefix("s3:") else { throw usage(spec, "it does not start with s3:") }
        let rest = String(spec.dropFirst(3))
        var scheme = "https", hostPort: String, path: String
        if let range = rest.range(of: "://") {
            scheme = String(rest[..<range.lowerBound]).lowercased()
            let afterScheme = rest[range.upperBound...]
            guard let slash = afterScheme.firstIndex(of: "/") else { throw usage(spec, "no bucket after the host") }
            hostPort = String(afterScheme[..<slash])
            path = String(afterScheme[afterScheme.index(after: slash)...])
        } else {
            let endpoint = environment["AWS_ENDPOINT_URL_S3"] ?? environment["AWS_ENDPOINT_URL"]
            if let endpoint, !endpoint.isEmpty {
                guard let range = endpoint.range(of: "://") else {
                    throw usage(endpoint, "AWS_ENDPOINT_URL needs a scheme (https://...)")
                }
                scheme = String(endpoint[..<range.lowerBound]).lowercased()
                hostPort = String(endpoint[range.upperBound...]).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            } else {
                hostPort = "s3.\(region(environment, host: nil)).amazonaws.com"
            }
            path = rest
        }
        guard scheme == "https" || scheme == "http" else { throw usage(spec, "the scheme must be https or http") }
        var host = hostPort, port: Int?
        if let colon = hostPort.lastIndex(of: ":"), !hostPort.hasSuffix("]") {
            host = String(hostPort[..<colon])
            guard let p = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(p) else {
                throw usage(spec, "the port is not a number")
            }
            port = p
        }
        guard !host.isEmpty else { throw usage(spec, "no host") }
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard let bucket = parts.first else { throw usage(spec, "no bucket") }
        try validateBucket(bucket, spec: spec)
        for part in parts.dropFirst() where part == "." || part == ".." {
            throw usage(spec, "the prefix may not contain . or .. components")
        }
        let virtual = ["1", "true", "yes"].contains((environment["CHAINVAULT_S3_VIRTUAL_HOST"] ?? "").lowercased())
        return S3Location(
            scheme: scheme, host: host, port: port, bucket: bucket, prefix: parts.dropFirst().joined(separator: "/"),
            region: region(environment, host: host), virtualHost: virtual)
    }

    /// AWS_REGION, AWS_DEFAULT_REGION, the region in an AWS endpoint name, else us-east-1 (what
    /// MinIO, Ceph and moto accept by default).
    static func region(_ environment: [String: String], host: String?) -> String {
        if let r = environment["AWS_REGION"], !r.isEmpty { return r }
        if let r = environment["AWS_DEFAULT_REGION"], !r.isEmpty { return r }
        if let host, host.hasSuffix(".amazonaws.com") {
            let labels = host.split(separator: ".")
            if let i = labels.firstIndex(where: { $0 == "s3" || $0.hasPrefix("s3-") }) {
                if labels[i].hasPrefix("s3-") { return String(labels[i].dropFirst(3)) }
                if i + 1 < labels.count, labels[i + 1] != "amazonaws" { return String(labels[i + 1]) }
            }
        }
        return "us-east-1"
    }

    static func validateBucket(_ bucket: String, spec: String) throws {
        let ok =
            (3...63).contains(bucket.count)
            && bucket.utf8.allSatisfy {
                ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z"))
                    || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                    || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
            }
        if !ok { throw usage(spec, "bucket names are 3 to 63 characters: lower-case letters, digits, '.' and '-'") }
    }

    static func usage(_ spec: String, _ why: String) -> VaultError {
        VaultError(
            .usage, "'\(spec)' is not a valid S3 repository location: \(why)",
            hint:
                "write s3:https://HOST[:PORT]/BUCKET[/PREFIX], or s3:BUCKET[/PREFIX] with AWS_ENDPOINT_URL and AWS_REGION set"
        )
    }

    /// The Host header: what the HTTP client sends (the port only when it is not the default).
    public func hostHeader(bucketHost: Bool = true) -> String {
        let name = virtualHost && bucketHost ? "\(bucket).\(host)" : host
        guard let port, port != (scheme == "https" ? 443 : 80) else { return name }
        return "\(name):\(port)"
    }

    /// The encoded request path for an object key (nil: the bucket itself).
    public func path(forKey key: String?) -> String {
        let encodedKey = key.map { SigV4.uriEncode($0, encodeSlash: false) }
        if virtualHost { return "/" + (encodedKey ?? "") }
        return "/" + bucket + (encodedKey.map { "/" + $0 } ?? "")
    }

    /// The object key of a repository-relative path.
    public func key(_ relativePath: String) -> String { prefix.isEmpty ? relativePath : prefix + "/" + relativePath }

    public func url(path: String, query: [(String, String)]) -> URL {
        var text = "\(scheme)://\(hostHeader())\(path)"
        if !query.isEmpty {
            text += "?" + query.map { SigV4.uriEncode($0.0) + "=" + SigV4.uriEncode($0.1) }.joined(separator: "&")
        }
        return URL(string: text)!
    }
}
