import VaultCore
@_spi(Repository) import VaultStorage

/// An index file that could not be used, and why (damaged, or unreadable after every retry).
public struct DamagedIndexFile: Sendable {
    /// The name as listed (a stray name that is no id is damage too).
    public let name: String
    public let error: VaultError
}

/// What `loadIndex` found: every listed index file (superseded ones too: a prune deletes them)
/// and those that are damaged and not superseded.
public struct IndexLoad: Sendable {
    public let listed: [String]
    public let damaged: [DamagedIndexFile]
}

extension Repository {
    /// Loads the index (replacing what it held): every listed index file, in name order, except those that a readable
    /// index file supersedes (FORMAT.md §6: this is the one place that rule is
    /// applied). Files are decoded a batch at a time, so only a batch is held beside the index
    /// (issue 17: memory per blob).
    ///
    /// A damaged or unreadable file that is not superseded throws (the first by name), unless
    /// `reportingDamage`: then it is returned and the rest is loaded (verify). `visit` sees each
    /// file whose packs went into the index, for a caller that keeps its own view of the packs;
    /// when superseded files turn up (only a prune stopped between writing its index and
    /// deleting the old ones leaves them), the index is emptied, `restart` is called so the
    /// caller drops what it kept, and the files that count are loaded again.
    @discardableResult
    /// `intoMemory: false` leaves the in-memory index alone and only visits: verify and prune hold
    /// the index in their own `PackTable` and must not pay for it twice.
    public func loadIndex(
        reportingDamage: Bool = false, intoMemory: Bool = true, visit: (IndexFile) -> Void = { _ in },
        restart: () -> Void = {}
    ) throws -> IndexLoad {
        let listed = try backend.list(.index).sorted { $0.name < $1.name }
        let names = listed.map(\.name)
        if intoMemory {
            // What storage says replaces what memory held: a verify after a copy checks the stored index.
            index.removeAll()
            // Each entry takes 50 plaintext bytes, so this bounds the count (reserved, not touched).
            index.reserve(blobs: listed.reduce(0) { $0 + $1.size } / PackEntry.encodedSize)
        }
        var superseded = Set<String>()
        var damaged = try loadIndexFiles(names, intoMemory: intoMemory) { file in
            superseded.formUnion(file.supersedes.map(\.hex))
            visit(file)
        }
        if names.contains(where: superseded.contains) {
            if intoMemory { index.removeAll() }
            restart()
            damaged = try loadIndexFiles(names.filter { !superseded.contains($0) }, intoMemory: intoMemory, visit)
        }
        damaged.removeAll { superseded.contains($0.name) }
        if !reportingDamage, let first = damaged.first { throw first.error }
        if intoMemory { index.seal() }
        return IndexLoad(listed: names, damaged: damaged)
    }

    /// Decodes index files a batch at a time into the index; returns those that failed.
    private func loadIndexFiles(
        _ names: [String], intoMemory: Bool,
        _ seen: (IndexFile) -> Void
    ) throws -> [DamagedIndexFile] {
        let batch = max(1, Parallel.cores)
        var damaged: [DamagedIndexFile] = []
        for start in stride(from: 0, to: names.count, by: batch) {
            let chunk = Array(names[start..<min(start + batch, names.count)])
            let files: [Result<IndexFile, VaultError>] = try Parallel.map(chunk) { name in
                do { return .success(try readIndexFile(named: name)) } catch let e as VaultError { return .failure(e) }
            }
            for (name, result) in zip(chunk, files) {
                switch result {
                case .success(let file): seen(file); if intoMemory { index.load(file.packs) }
                case .failure(let e): damaged.append(DamagedIndexFile(name: name, error: e))
                }
            }
        }
        return damaged
    }
}
