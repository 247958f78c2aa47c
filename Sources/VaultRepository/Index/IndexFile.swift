import VaultCore

/// One pack as an index file records it: its id, its key salt and its blobs.
public struct IndexedPack: Sendable {
    public let id: PackID
    public let salt: [UInt8]
    public let entries: [PackEntry]

    public init(id: PackID, salt: [UInt8], entries: [PackEntry]) {
        self.id = id; self.salt = salt; self.entries = entries
    }
}

/// The plaintext of an `index/<id>` file (sealed with `SealedFile`, kind 2):
///
///     "CVI1" | u32 packs | { pack id (32) | salt (32) | u32 n | n × entry (50) } … | u32 k | k × superseded index id (32)
///
/// `supersedes` names index files whose content this one replaces (written by prune before it
/// deletes them, so a reader that sees both is still right).
public struct IndexFile: Sendable {
    public var packs: [IndexedPack]
    public var supersedes: [IndexID]

    public init(packs: [IndexedPack], supersedes: [IndexID] = []) { self.packs = packs; self.supersedes = supersedes }

    static let magic: [UInt8] = Array("CVI1".utf8)

    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 16 + packs.reduce(0) { $0 + 68 + $1.entries.count * PackEntry.encodedSize })
        w.raw(Self.magic)
        w.u32(UInt32(packs.count))
        for p in packs {
            w.digest(p.id.digest); w.raw(p.salt); w.u32(UInt32(p.entries.count))
            for e in p.entries { e.encode(into: &w) }
        }
        w.u32(UInt32(supersedes.count))
        for s in supersedes { w.digest(s.digest) }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8], what: String) throws -> IndexFile {
        var r = ByteReader(bytes, what: what)
        guard try r.raw(4) == magic else { throw VaultError(.corrupt, "\(what) has a bad magic") }
        let packCount = Int(try r.u32())
        guard packCount <= r.remaining / 68 else { throw VaultError(.corrupt, "\(what) claims \(packCount) packs") }
        var packs: [IndexedPack] = []
        packs.reserveCapacity(packCount)
        for _ in 0..<packCount {
            let id = PackID(try r.digest()), salt = try r.raw(32)
            let n = Int(try r.u32())
            guard n <= r.remaining / PackEntry.encodedSize else {
                throw VaultError(.corrupt, "\(what) claims \(n) blobs in a pack")
            }
            var entries: [PackEntry] = []
            entries.reserveCapacity(n)
            for _ in 0..<n { entries.append(try PackEntry.decode(&r, what: what)) }
            packs.append(IndexedPack(id: id, salt: salt, entries: entries))
        }
        let k = Int(try r.u32())
        guard k <= r.remaining / 32 else { throw VaultError(.corrupt, "\(what) claims \(k) superseded files") }
        var supersedes: [IndexID] = []
        for _ in 0..<k { supersedes.append(IndexID(try r.digest())) }
        try r.expectEnd()
        return IndexFile(packs: packs, supersedes: supersedes)
    }
}
