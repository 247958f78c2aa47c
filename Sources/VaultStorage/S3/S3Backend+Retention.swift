import Foundation
import VaultCore

// Object Lock retention after the PUT (PutObjectRetention, GetObjectRetention) and delete markers.
extension S3Backend: RetentionExtending, DeleteMarkerCounting {
    public var retentionPeriod: TimeInterval? { objectLock.map { TimeInterval($0.days) * 86_400 } }

    public var deletesHidden: Int { hiddenDeletes.withLock { $0 } }

    /// Counts a successful DELETE that the store answered with `x-amz-delete-marker: true`.
    func recordDelete(_ r: HTTPResponse) {
        if r.headers["x-amz-delete-marker"] == "true" { hiddenDeletes.withLock { $0 += 1 } }
    }

    public func retainUntil(_ handle: ObjectHandle) throws -> Date? {
        let what = "reading the retention of \(handle)"
        let r = try client.send(
            "GET", key: client.location.key(handle.relativePath), query: [("retention", "")],
            what: what
        ).response
        let xml = String(decoding: r.body, as: UTF8.self)
        switch r.status {
        case 200: return S3Clock.isoDate(S3XML.value("RetainUntilDate", in: xml))
        // An object without retention (written before ?object-lock was set) has none to extend
        // yet: it gets one below, as if it ran out now.
        case 404 where S3XML.value("Code", in: xml) == "NoSuchObjectLockConfiguration": return nil
        default: throw client.error(r, what: what)
        }
    }

    public func extendRetention(_ handle: ObjectHandle, until: Date) throws {
        guard let objectLock else { return }
        let body = Array(
            ("<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>\(objectLock.mode.rawValue)</Mode>"
                + "<RetainUntilDate>\(S3ObjectLock.isoString(until))</RetainUntilDate></Retention>").utf8)
        let hash = SHA256.hash(body).hex
        // Like a locked PUT, S3 wants an integrity header: the body's SHA-256, which is signed anyway.
        let checksum = Data(Hex.decode(hash) ?? []).base64EncodedString()
        let what = "extending the retention of \(handle)"
        let r = try client.send(
            "PUT", key: client.location.key(handle.relativePath), query: [("retention", "")],
            headers: [("x-amz-sdk-checksum-algorithm", "SHA256"), ("x-amz-checksum-sha256", checksum)],
            body: .bytes(body), payloadHash: hash, what: what
        ).response
        guard (200..<300).contains(r.status) else { throw client.error(r, what: what) }
    }
}
