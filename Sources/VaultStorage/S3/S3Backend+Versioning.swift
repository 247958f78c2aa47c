import Foundation
import VaultCore

// On a bucket with versioning (and every Object Lock bucket has it), a store may accept a second
// PUT of an existing name as a new version: Ceph RGW 16 ignores `If-None-Match: *` there. An
// object whose name is the SHA-256 of its bytes is safe anyway (a second PUT stores the same
// bytes), and lock names are random, but an object whose name does not fix its content (config)
// would be replaced. There the first version wins: the writer reads the key's version list after
// its PUT, and if an older version exists it removes its own and reports the object as existing
// (FORMAT.md §1, "What each object needs from the store").
extension S3Backend {
    /// Whether a PUT of this object relies on `If-None-Match: *` to stay unique: the config (every
    /// other kind is named by its SHA-256, at random, or by its one writer; FORMAT.md §1).
    static func needsExclusiveCreate(_ handle: ObjectHandle, payloadHash: String) -> Bool {
        handle.kind == .config
    }

    /// GET ?versioning, once per backend: Enabled or Suspended (versions exist) counts as versioned;
    /// an answer this credential may not read counts as versioned too (the safe side).
    func isVersioned() throws -> Bool {
        if let known = versioningState.withLock({ $0 }) { return known }
        let what = "checking the bucket's versioning"
        let r = try client.send("GET", key: nil, query: [("versioning", "")], what: what).response
        let versioned: Bool
        switch r.status {
        case 200:
            let status = S3XML.value("Status", in: String(decoding: r.body, as: UTF8.self))
            versioned = status == "Enabled" || status == "Suspended"
        case 403: versioned = true
        default: throw client.error(r, what: what)
        }
        versioningState.withLock { $0 = versioned }
        return versioned
    }

    /// The PUT of an object that must be created once, on a versioned bucket: refused before the
    /// PUT when the object is there, and after it when an older version turns up (a concurrent writer
    /// came first); the loser removes its own version so readers see the winner's bytes.
    func putOnce(_ handle: ObjectHandle, key: String, put: () throws -> HTTPResponse) throws {
        if try stat(handle) != nil { throw exists(handle) }
        let r = try put()
        guard let mine = r.headers["x-amz-version-id"], !mine.isEmpty, mine != "null" else { return }
        let versions = try currentVersions(key, what: "checking \(handle) after writing it")
        guard let first = versions.last, first != mine else { return }
        _ = try? client.send(
            "DELETE", key: key, query: [("versionId", mine)],
            what: "removing the second version of \(handle)")
        throw exists(handle)
    }

    private func exists(_ handle: ObjectHandle) -> VaultError {
        VaultError(.alreadyExists, "\(handle) already exists at \(location)")
    }

    /// The version ids of `key` since its last delete marker, newest first (S3 lists each key's
    /// versions newest first).
    func currentVersions(_ key: String, what: String) throws -> [String] {
        var ids: [String] = []
        var marker: (key: String, version: String)?
        pages: while true {
            var query = [("versions", ""), ("prefix", key)]
            if let marker { query += [("key-marker", marker.key), ("version-id-marker", marker.version)] }
            let r = try client.send("GET", key: nil, query: query, what: what).response
            guard r.status == 200 else { throw client.error(r, what: what) }
            let xml = String(decoding: r.body, as: UTF8.self)
            let entries = S3XML.elements(["Version", "DeleteMarker"], in: xml)
            for entry in entries where S3XML.value("Key", in: entry.body) == key {
                if entry.name == "DeleteMarker" { break pages }
                if let id = S3XML.value("VersionId", in: entry.body) { ids.append(id) }
            }
            guard S3XML.value("IsTruncated", in: xml) == "true", let k = S3XML.value("NextKeyMarker", in: xml),
                let v = S3XML.value("NextVersionIdMarker", in: xml), k == key
            else { break }
            marker = (k, v)
        }
        return ids
    }
}
