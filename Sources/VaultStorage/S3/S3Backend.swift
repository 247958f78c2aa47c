import Foundation
import Glibc
import Synchronization
import VaultCore

/// A repository in an S3-compatible bucket, under an optional key prefix, with the same layout
/// as a local one (`config`, `keys/`, `data/ab/<id>`, ...). Every write is a single PUT with
/// `If-None-Match: *`: atomic, durable when it returns, and never an overwrite. Packs are PUT
/// from their spool files with their name (the SHA-256 of their bytes) as the signed payload
/// hash, so the server itself rejects a pack damaged on the way.
/// @unchecked: `appendOnly` and `objectLock` are set once before the backend is shared
/// (`openBackend`); the client and the rest are immutable or thread-safe themselves.
public final class S3Backend: Backend, @unchecked Sendable {
    public let client: S3Client
    public let connections: Int
    public var location: String { client.location.description }
    /// Set once, before the backend is shared (openBackend): every delete is refused.
    public var appendOnly = false
    public var preferredConcurrency: Int { connections }
    /// Retention set on every object written but locks (`?object-lock=MODE:DAYS`), or none.
    public var objectLock: S3ObjectLock?
    /// The bucket's versioning, once asked (`isVersioned`).
    let versioningState = Mutex<Bool?>(nil)
    /// DELETEs answered with a delete marker (S3Backend+Retention.swift).
    let hiddenDeletes = Mutex(0)

    public init(
        location: S3Location, credentials: S3Credentials, transport: HTTPTransport? = nil,
        connections: Int = 4, retry: S3Client.RetryPolicy = .init(), timeout: TimeInterval = 60,
        caFile: String? = nil
    ) {
        self.connections = max(connections, 1)
        let http = transport ?? HTTP1Transport(connections: self.connections, timeout: timeout, caFile: caFile)
        client = S3Client(location: location, credentials: credentials, transport: http, retry: retry)
    }

    /// From a `--repo s3:...` string and the environment: credentials, `CHAINVAULT_S3_CONNECTIONS`
    /// (parallel transfers, default 4), `CHAINVAULT_S3_RETRIES` (attempts per request, default 8),
    /// `CHAINVAULT_S3_TIMEOUT` (seconds without progress, default 60), `CHAINVAULT_S3_CA_FILE`
    /// (PEM certificates trusted besides the system store, for a private CA).
    public static func open(_ spec: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> S3Backend
    {
        let (spec, objectLock) = try S3ObjectLock.split(spec)
        let location = try S3Location.parse(spec, environment: environment)
        let credentials = try S3Credentials.resolve(environment)
        func number(_ name: String, _ fallback: Int) throws -> Int {
            guard let text = environment[name], !text.isEmpty else { return fallback }
            guard let n = Int(text), n >= 1, n <= 256 else {
                throw VaultError(.usage, "\(name)=\(text) is not a number from 1 to 256")
            }
            return n
        }
        let caFile = environment["CHAINVAULT_S3_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        if let caFile {
            do { try NetConnection.checkCAFile(caFile) } catch let error as NetError {
                throw VaultError(
                    .usage, "CHAINVAULT_S3_CA_FILE=\(caFile) cannot be used", cause: error,
                    hint: "point it at a readable PEM file of CA certificates")
            }
        }
        let backend = S3Backend(
            location: location, credentials: credentials,
            connections: try number("CHAINVAULT_S3_CONNECTIONS", 4),
            retry: .init(attempts: try number("CHAINVAULT_S3_RETRIES", 8)),
            timeout: TimeInterval(try number("CHAINVAULT_S3_TIMEOUT", 60)), caFile: caFile)
        backend.objectLock = objectLock
        return backend
    }

    private func key(_ handle: ObjectHandle) -> String { client.location.key(handle.relativePath) }

    /// Packs wait here (in this user's own 0700 directory under $TMPDIR) until uploaded. A killed
    /// backup leaves its spool files behind; any older than a day belong to no running backup
    /// (a pack is written and sent within minutes) and are removed when the next one starts.
    public var stagingDirectory: String { Self.spool }

    private static let spool: String = {
        var dir = NSTemporaryDirectory() + "/chainvault-spool-\(getuid())"
        _ = try? Posix.mkdir(dir, mode: 0o700)
        // Someone else's directory (created first in a shared /tmp) is never used.
        if let st = try? Posix.lstat(dir), (st.st_mode & S_IFMT) == S_IFDIR, st.st_uid == getuid(),
            st.st_mode & 0o077 == 0
        {
        } else {
            var template = Array((NSTemporaryDirectory() + "/chainvault-spool-XXXXXX").utf8CString)
            dir =
                template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }.map { String(cString: $0) }
                ?? NSTemporaryDirectory()
        }
        removeStaleTemporaries(in: [dir], olderThan: 86_400)
        return dir
    }()

    public func create() throws {
        try checkBucket()
        if try stat(.config) != nil {
            throw VaultError(
                .alreadyExists, "a repository already exists at \(location)",
                hint: "use it as it is, or choose another bucket or prefix for a new one")
        }
    }

    /// HEAD on the bucket: a missing bucket or wrong credentials are reported as such, not as
    /// "not a repository".
    private func checkBucket() throws {
        let r = try client.send("HEAD", key: nil, what: "checking the bucket").response
        if r.status == 404 {
            throw client.error(
                HTTPResponse(status: 404, body: Array("<Code>NoSuchBucket</Code>".utf8)), what: "checking the bucket")
        }
        if !(200..<300).contains(r.status) {
            // HEAD has no body; ask again with GET to learn the error code.
            let detail = try client.send(
                "GET", key: nil, query: [("list-type", "2"), ("max-keys", "1")], what: "checking the bucket"
            ).response
            throw client.error(detail, what: "checking the bucket")
        }
    }

    public func list(_ kind: ObjectKind) throws -> [ObjectInfo] {
        if kind == .config { return try stat(.config).map { [ObjectInfo(name: "config", size: $0)] } ?? [] }
        let prefix = client.location.key(kind.rawValue + "/")
        var out: [ObjectInfo] = []
        var token: String?
        var tokensSeen = Set<String>()
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            let r = try client.send("GET", key: nil, query: query, what: "listing \(kind.rawValue)/").response
            guard r.status == 200 else { throw client.error(r, what: "listing \(kind.rawValue)/") }
            let xml = String(decoding: r.body, as: UTF8.self)
            for entry in S3XML.blocks("Contents", in: xml) {
                guard let key = S3XML.value("Key", in: entry),
                    let size = S3XML.value("Size", in: entry).flatMap(Int.init)
                else { continue }
                let name = String(key.split(separator: "/").last ?? "")
                if name.isEmpty || name.hasPrefix(".") { continue }
                let modified = S3Clock.isoDate(S3XML.value("LastModified", in: entry))
                out.append(ObjectInfo(name: name, size: size, modified: modified))
            }
            token = try Self.nextToken(xml, seen: &tokensSeen, what: "listing \(kind.rawValue)/ at \(location)")
        } while token != nil
        return out
    }

    public func read(_ handle: ObjectHandle, range: Range<Int>?) throws -> [UInt8] {
        try get(handle, range: range, freshConnection: false)
    }

    public func reread(_ handle: ObjectHandle, range: Range<Int>?) throws -> [UInt8] {
        try get(handle, range: range, freshConnection: true)
    }

    private func get(_ handle: ObjectHandle, range: Range<Int>?, freshConnection: Bool) throws -> [UInt8] {
        var headers: [(String, String)] = []
        if let range {
            guard range.lowerBound >= 0, !range.isEmpty else { return [] }
            headers.append(("range", "bytes=\(range.lowerBound)-\(range.upperBound - 1)"))
        }
        // A range read accepts the range (or, from a server that ignores Range, the object up to
        // its end); a whole object at most what a reader of this repository ever asks for.
        let limit = range.map { max($0.upperBound, 64 << 10) } ?? ObjectLimits.maximum(handle.kind)
        let outcome = try client.send(
            "GET", key: key(handle), headers: headers, responseLimit: limit,
            isComplete: { Self.isComplete($0, range: range) },
            freshConnection: freshConnection, what: "reading \(handle)")
        let r = outcome.response
        switch r.status {
        case 200, 206:
            if let range, r.body.count != range.count {
                if r.status == 200 && r.body.count >= range.upperBound { return Array(r.body[range]) }  // Range ignored
                throw shorter(handle, range, size: Self.totalSize(r) ?? r.body.count)
            }
            return r.body
        case 404:
            let code = S3XML.value("Code", in: String(decoding: r.body, as: UTF8.self))
            if code == "NoSuchBucket" { throw client.error(r, what: "reading \(handle)") }
            throw missing(handle)
        case 416:
            throw shorter(handle, range ?? 0..<0, size: Self.totalSize(r))
        default:
            throw client.error(r, what: "reading \(handle)")
        }
    }

    /// Whole-object reads (config, keys, snapshots, indexes, packs in `verify`): packs are at
    /// most 256 MiB plus a chunk (FORMAT.md); nothing this repository writes is larger.
    static let wholeObjectLimit = 1 << 30

    private func shorter(_ handle: ObjectHandle, _ range: Range<Int>, size: Int?) -> VaultError {
        VaultError(
            .corrupt,
            "\(handle) is \(size.map { "\($0) bytes" } ?? "too short"), shorter than the range \(range) the index names",
            hint: "the object was truncated; run 'chainvault verify --read-data'")
    }

    /// The object's size from `Content-Range: bytes a-b/SIZE` (206, 416).
    static func totalSize(_ r: HTTPResponse) -> Int? {
        r.headers["content-range"].flatMap { $0.split(separator: "/").last }.flatMap { Int($0) }
    }

    /// A body shorter than asked for is the object's end only when the server says the object is
    /// that short; otherwise the transfer was cut and is retried.
    static func isComplete(_ r: HTTPResponse, range: Range<Int>?) -> Bool {
        guard let range else {
            // A body the HTTP client decompressed no longer has the length the header gives.
            if r.headers["content-encoding"] != nil { return true }
            return r.headers["content-length"].flatMap(Int.init).map { $0 == r.body.count } ?? true
        }
        if r.body.count == range.count { return true }
        if r.status == 200 {
            return r.body.count >= range.upperBound || r.headers["content-length"].flatMap(Int.init) == r.body.count
        }
        if let total = totalSize(r) { return total < range.upperBound && r.body.count == total - range.lowerBound }
        return false
    }

    public func write(_ handle: ObjectHandle, _ bytes: [UInt8]) throws {
        try put(handle, body: .bytes(bytes), payloadHash: SHA256.hash(bytes).hex)
    }

    /// The spool file is consumed whatever happens: on failure the backup fails and its data is
    /// read again from the source next time, so nothing is left to fill /tmp.
    public func writeFile(_ handle: ObjectHandle, path: String) throws {
        defer { _ = try? Posix.unlink(path) }
        let size = try Posix.lstat(path).map { Int($0.st_size) } ?? 0
        // A pack's name is the SHA-256 of its bytes; anything else is hashed here.
        let hash = handle.kind == .pack && SHA256Digest(hex: handle.name) != nil ? handle.name : try hashFile(path)
        try put(handle, body: .file(path, size: size), payloadHash: hash)
    }

    private func hashFile(_ path: String) throws -> String { SHA256.hash(try Posix.readFile(path)).hex }

    private func put(_ handle: ObjectHandle, body: HTTPBody, payloadHash: String) throws {
        if Self.needsExclusiveCreate(handle, payloadHash: payloadHash), try isVersioned() {
            try putOnce(handle, key: key(handle)) { try putRequest(handle, body: body, payloadHash: payloadHash) }
            return
        }
        try putRequest(handle, body: body, payloadHash: payloadHash)
    }

    /// One PUT with `If-None-Match: *`, which every store honours on an unversioned bucket.
    @discardableResult
    private func putRequest(_ handle: ObjectHandle, body: HTTPBody, payloadHash: String) throws -> HTTPResponse {
        var headers = [("if-none-match", "*")]
        if let objectLock, handle.kind != .lock { headers += objectLock.headers(payloadHash: payloadHash) }
        let outcome = try client.send(
            "PUT", key: key(handle), headers: headers, body: body,
            payloadHash: payloadHash, what: "writing \(handle)")
        let r = outcome.response
        if (200..<300).contains(r.status) { return r }
        if r.status == 412 || r.status == 409 {
            // On a retry, the object may be our own earlier attempt whose answer was lost: names are
            // content hashes or random, so an object that exists by then is that attempt.
            if outcome.attempts > 1 { return r }
            throw VaultError(.alreadyExists, "\(handle) already exists at \(location)")
        }
        if r.status == 400,
            S3XML.value("Code", in: String(decoding: r.body, as: UTF8.self)) == "XAmzContentSHA256Mismatch"
        {
            throw VaultError(
                .corrupt,
                "the S3 server received bytes for \(handle) that do not match their SHA-256: the local spool file changed or the transfer was damaged",
                hint: "run the backup again; if it repeats, check this host's disk and memory")
        }
        throw client.error(r, what: "writing \(handle)")
    }

    public func delete(_ handle: ObjectHandle) throws {
        if appendOnly { throw AppendOnly.refusal(handle, location: location) }
        let r = try client.send("DELETE", key: key(handle), what: "deleting \(handle)").response
        if (200..<300).contains(r.status) { recordDelete(r); return }
        if r.status == 404 { return }
        throw client.error(r, what: "deleting \(handle)")
    }

    public func stat(_ handle: ObjectHandle) throws -> Int? {
        let r = try client.send("HEAD", key: key(handle), what: "checking \(handle)").response
        switch r.status {
        case 200: return r.headers["content-length"].flatMap(Int.init) ?? 0
        case 404:
            if handle == .config { try checkBucket() }
            return nil
        default:
            // HEAD carries no error document; a GET of the same object does.
            let detail = try client.send(
                "GET", key: key(handle), headers: [("range", "bytes=0-0")], what: "checking \(handle)"
            ).response
            throw client.error(detail.status == r.status ? detail : r, what: "checking \(handle)")
        }
    }
}
