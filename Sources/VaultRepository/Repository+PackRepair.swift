import VaultCore
@_spi(Repository) import VaultStorage

/// What `repairPacks` did, for the operator's summary and `--json`.
public struct PackRepairResult: Sendable, Encodable {
    public struct Refusal: Sendable, Encodable {
        public let pack: String
        public let reason: String
    }
    /// Packs whose blobs were rewritten into new packs, then deleted.
    public var rewritten: [String] = []
    /// Packs whose file matched its name: nothing to repair.
    public var intact: [String] = []
    /// Packs left as they are, and why (a damaged blob, no index entry).
    public var refused: [Refusal] = []
    public var blobs = 0
    public var newPacks: [String] = []
    public var indexFilesReplaced = 0
}

extension Repository {
    /// Rewrites packs whose file is damaged (its SHA-256 name or its header) but whose blobs are
    /// intact: a damaged header costs nothing while the index lists the blobs (each is
    /// authenticated on its own), but it can no longer be indexed from (`repair index`), so it is
    /// one lost index file away from losing intact data. Verify before you delete: every blob the
    /// index lists in such a pack is read and checked before anything is written; a pack with a
    /// damaged blob is refused and kept. The new packs are stored, then an index without the old
    /// packs replaces every old index file, and only then are the old packs deleted.
    /// `names`: pack ids or unique prefixes of at least 8 hex digits. Under an exclusive lock.
    public func repairPacks(_ names: [String]) throws -> PackRepairResult {
        let listed = try backend.list(.pack)
        var wanted: [String] = []
        for n in names {
            let prefix = n.lowercased()
            guard prefix.count >= 8, prefix.allSatisfy(\.isHexDigit) else {
                throw VaultError(.usage, "'\(n)' is not a pack id (8 to 64 hex digits)")
            }
            let matches = listed.filter { $0.name.hasPrefix(prefix) }
            guard matches.count == 1 else {
                throw VaultError(
                    .usage,
                    matches.isEmpty
                        ? "no pack's id starts with \(prefix)"
                        : "\(prefix) starts \(matches.count) pack ids: give more digits")
            }
            if !wanted.contains(matches[0].name) { wanted.append(matches[0].name) }
        }
        // The whole index, as `loadIndex` counts it (the one rule for superseded files): the new
        // one replaces every listed file, so each that counts must be read (a damaged one stops
        // here with its own hint: 'repair index' first).
        var packs: [IndexedPack] = []
        var seen = Set<PackID>()
        let oldNames = try loadIndex(
            intoMemory: false,
            visit: { file in
                for p in file.packs where seen.insert(p.id).inserted { packs.append(p) }
            },
            restart: {
                packs = []; seen = []
            }
        ).listed
        let byName = Dictionary(packs.map { ($0.id.hex, $0) }, uniquingKeysWith: { a, _ in a })

        var result = PackRepairResult()
        let codec = makeCodec()
        var dropped = Set<PackID>()
        let newPacks = try withBlobSaver(.repacking) { saver in
            for name in wanted {
                guard let indexed = byName[name] else {
                    result.refused.append(
                        .init(
                            pack: name,
                            reason: "it is in no index, so no snapshot reaches it "
                                + "through the index; 'chainvault repair index' indexes it if its "
                                + "header is whole"))
                    continue
                }
                let (bytes, intact) = try readPack(indexed.id)
                if intact { result.intact.append(name); continue }
                var plain: [(PackEntry, [UInt8])] = []
                var damaged: [String] = []
                for e in indexed.entries {
                    let location = BlobLocation(pack: indexed.id, salt: indexed.salt, entry: e)
                    let start = Int(e.offset), end = start + Int(e.storedLength)
                    if end <= bytes.count,
                        let p = try? bytes.withUnsafeBytes({
                            try openBlob(UnsafeRawBufferPointer(rebasing: $0[start..<end]), at: location, codec: codec)
                        })
                    {
                        plain.append((e, p)); continue
                    }
                    // Read on its own once more before it is called damaged.
                    do { plain.append((e, try readBlob(at: location, codec: codec))) } catch {
                        let reason = (error as? VaultError)?.message ?? "\(error)"
                        damaged.append("blob \(e.id.shortHex) is damaged (\(reason))")
                    }
                }
                guard damaged.isEmpty else {
                    result.refused.append(.init(pack: name, reason: damaged.joined(separator: "; ")))
                    continue
                }
                for (e, bytes) in plain { try bytes.withUnsafeBytes { _ = try saver.save(e.type, $0, id: e.id) } }
                dropped.insert(indexed.id)
                result.rewritten.append(name)
                result.blobs += plain.count
            }
        }.packs
        result.newPacks = newPacks.map(\.id.hex)
        guard !dropped.isEmpty else { return result }
        try replaceIndex(with: packs.filter { !dropped.contains($0.id) } + newPacks, superseding: oldNames)
        result.indexFilesReplaced = oldNames.count
        try confirmLocksHeld()
        for id in dropped { try backend.delete(ObjectHandle(.pack, id.hex)) }
        return result
    }
}
