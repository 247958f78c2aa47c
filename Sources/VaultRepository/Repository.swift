import Foundation
import VaultCore
@_spi(Repository) import VaultStorage

/// An opened repository: its backend, master key, config and (once loaded) index.
/// @unchecked: every field is immutable or thread-safe itself except `openWarnings`, written while
/// opening, before the repository is shared.
public final class Repository: @unchecked Sendable {
    /// The store and the master key stay inside VaultRepository (issue 16: the repository is the
    /// only writer, so FORMAT.md §10's write order has one owner). Tests that must reach them
    /// (fault injection, key comparisons) use `@_spi(Testing) import VaultRepository`.
    @_spi(Testing) public let backend: Backend
    public let config: RepositoryConfig
    @_spi(Testing) public let master: SecretBytes
    public let keyID: KeyID
    public let index = MasterIndex()
    /// Locks taken on this repository; confirmed before each commit (Repository+Locks.swift).
    public let heldLocks = HeldLocks()
    /// What opening found but worked around (damaged key files skipped), for the caller to show.
    public internal(set) var openWarnings: [String] = []

    init(backend: Backend, config: RepositoryConfig, master: SecretBytes, keyID: KeyID) {
        self.backend = backend; self.config = config; self.master = master; self.keyID = keyID
    }

    /// Creates a repository: layout, then the key, then the config last, so a repository with a
    /// config is always complete.
    public static func initialize(
        _ backend: Backend, credential: Credential, config: RepositoryConfig = .new(),
        scrypt: ScryptParameters = .standard
    ) throws -> Repository {
        try config.validate()
        try backend.create()
        let master = SecretBytes.random(count: 32)
        let keyID = try KeyRing.add(backend, master: master, credential: credential, scrypt: scrypt)
        let sealed = SealedFile.seal(Array(try JSONEncoder().encode(config)), kind: .config, master: master)
        try backend.write(.config, sealed)
        return Repository(backend: backend, config: config, master: master, keyID: keyID)
    }

    public static func open(_ backend: Backend, credential: Credential) throws -> Repository {
        let configPresent: Bool
        // A storage that cannot be reached or refuses us says so itself (its hint is the useful one);
        // anything else at this point means the path is not a repository.
        do { configPresent = try backend.stat(.config) != nil } catch let e as VaultError
            where ![.storageFull, .storageFailure, .notARepository, .insecureFile, .usage].contains(e.code)
        {
            throw VaultError(
                .notARepository, "cannot open a repository at \(backend.location)", cause: e,
                hint: "check the --repo path (or CHAINVAULT_REPOSITORY); create one with 'chainvault init'")
        }
        guard configPresent else {
            throw VaultError(
                .notARepository, "\(backend.location) is not a chainvault repository (no config)",
                hint: "check the --repo path (or CHAINVAULT_REPOSITORY); create one with 'chainvault init'")
        }
        var warnings: [String] = []
        let (master, keyID) = try KeyRing.open(backend, credential: credential) { warnings.append($0) }
        let config: RepositoryConfig = try Reread.read(backend, .config) { bytes in
            let plain = try SealedFile.open(bytes, kind: .config, master: master, what: "repository config")
            do { return try JSONDecoder().decode(RepositoryConfig.self, from: Data(plain)) } catch {
                throw VaultError(.corrupt, "repository config is not valid", cause: error)
            }
        }
        try config.validate()
        let repository = Repository(backend: backend, config: config, master: master, keyID: keyID)
        repository.openWarnings = warnings
        return repository
    }

    // MARK: Index

    /// Reads a content-addressed sealed file: its name must be the SHA-256 of its bytes (checked
    /// before any key is used), then it must authenticate and decode. Damage is re-read once.
    private func readSealed<T>(
        _ handle: ObjectHandle, kind: SealedFile.Kind, what: String, hint: String,
        decode: ([UInt8]) throws -> T
    ) throws -> T {
        try Reread.read(backend, handle) { bytes in
            guard SHA256.hash(bytes).hex == handle.name else {
                throw VaultError(
                    .corrupt, "\(what) does not match its name: its bytes were altered or damaged", hint: hint)
            }
            return try decode(try SealedFile.open(bytes, kind: kind, master: master, what: what))
        }
    }

    public func readIndexFile(_ id: IndexID) throws -> IndexFile { try readIndexFile(named: id.hex) }

    /// Reads `index/<name>` as listed: a name that is no id fails as altered (its bytes cannot
    /// hash to it), so a stray file is damage the caller reports, as any other.
    func readIndexFile(named name: String) throws -> IndexFile {
        let what = "index file index/\(name.prefix(8))"
        return try readSealed(
            ObjectHandle(.index, name), kind: .index, what: what,
            hint: "rebuild the index from the packs with 'chainvault repair index'"
        ) {
            try IndexFile.decode($0, what: what)
        }
    }

    @discardableResult
    public func writeIndex(_ file: IndexFile) throws -> IndexID {
        // An index file makes packs count as referenced data: never under a lock that was lost.
        try confirmLocksHeld()
        let sealed = SealedFile.seal(file.encode(), kind: .index, master: master)
        let id = IndexID(SHA256.hash(sealed))
        try backend.writeIfAbsent(ObjectHandle(.index, id.hex), sealed)
        return id
    }

    /// Packs present in storage but in no index: left by a backup killed before its index write.
    /// Their headers are authenticated and indexed, so the next backup reuses their data.
    public func recoverUnindexedPacks() throws -> (packs: Int, blobs: Int) {
        let known = index.packs
        let orphans = try backend.list(.pack).filter { PackID(hex: $0.name).map { !known.contains($0) } ?? false }
        if orphans.isEmpty { return (0, 0) }
        let recovered: [IndexedPack?] = try Parallel.map(orphans) { info in
            try? readPackHeader(name: info.name, size: info.size)
        }
        let good = recovered.compactMap { $0 }
        if good.isEmpty { return (0, 0) }
        try writeIndex(IndexFile(packs: good))
        for p in good { index.add(p) }
        return (good.count, good.reduce(0) { $0 + $1.entries.count })
    }

    /// Reads a pack's preamble and header (two range reads) and authenticates the header; a
    /// header that fails is read again (`Reread.twice`) before it is called damaged.
    public func readPackHeader(name: String, size: Int) throws -> IndexedPack {
        let handle = ObjectHandle(.pack, name)
        let what = "pack \(name.prefix(8))"
        guard size > PackFormat.preambleSize + 4 else {
            throw VaultError(.corrupt, "\(what) is too short (\(size) bytes)")
        }
        guard let id = PackID(hex: name) else { throw VaultError(.corrupt, "\(what) has a name that is not a SHA-256") }
        return try Reread.twice(backend) { read in
            let salt = try PackFormat.checkPreamble(try read(handle, 0..<PackFormat.preambleSize), what: what)
            let tailSize = min(size - PackFormat.preambleSize, 64 << 10)
            var tail = try read(handle, (size - tailSize)..<size)
            let headerLength = Int(
                tail.withUnsafeBytes {
                    UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: tail.count - 4, as: UInt32.self))
                })
            if headerLength + 4 > tail.count, headerLength + 4 + PackFormat.preambleSize <= size {
                tail = try read(handle, (size - headerLength - 4)..<size)
            }
            let entries = try PackFormat.parseHeader(tail: tail, packSize: size, salt: salt, master: master, what: what)
            return IndexedPack(id: id, salt: salt, entries: entries)
        }
    }

    // MARK: Blobs

    /// Reads one blob (a range read of its pack), authenticates, decompresses and checks its hash.
    public func readBlob(_ id: BlobID, codec: BlobCodec) throws -> [UInt8] {
        guard let location = index.lookup(id) else {
            throw VaultError(
                .missing, "blob \(id.shortHex) is not in the index",
                hint: "the repository is incomplete; run 'chainvault verify' to see what is affected")
        }
        return try readBlob(at: location, codec: codec)
    }

    public func readBlob(at location: BlobLocation, codec: BlobCodec) throws -> [UInt8] {
        let e = location.entry
        let range = Int(e.offset)..<Int(e.offset) + Int(e.storedLength)
        return try Reread.read(backend, ObjectHandle(.pack, location.pack.hex), range: range) { sealed in
            try sealed.withUnsafeBytes { try openBlob($0, at: location, codec: codec) }
        }
    }

    /// Sealed bytes of a pack: several blobs that lie back to back, fetched with one range read and
    /// handed to `open`, which authenticates them; damage is re-read once.
    public func readPackRange<T>(_ pack: PackID, _ range: Range<Int>, _ open: ([UInt8]) throws -> T) throws -> T {
        try Reread.read(backend, ObjectHandle(.pack, pack.hex), range: range, open)
    }

    /// `readPackRange` into a buffer the caller keeps from read to read (a restore worker's).
    public func readPackRange<T>(
        _ pack: PackID, _ range: Range<Int>, reusing buffer: inout [UInt8],
        _ open: ([UInt8]) throws -> T
    ) throws -> T {
        try Reread.read(backend, ObjectHandle(.pack, pack.hex), range: range, reusing: &buffer, open)
    }

    /// Authenticates, decompresses and hash-checks a blob's sealed bytes, read by the caller (one
    /// range read may carry several blobs of a pack).
    /// The pack's subkey comes from the codec's cache: derived once per pack, not once per blob.
    public func openBlob(_ sealed: UnsafeRawBufferPointer, at location: BlobLocation, codec: BlobCodec) throws
        -> [UInt8]
    {
        let key = codec.subkey(master: master, salt: location.salt)
        return try key.withUnsafeBytes { k in
            try codec.open(sealed, entry: location.entry, key: k, pack: location.pack.hex)
        }
    }

    /// `openBlob` into a buffer the caller reuses (see `BlobCodec.open(_:entry:key:pack:into:)`);
    /// returns the plaintext's length.
    public func openBlob(
        _ sealed: UnsafeRawBufferPointer, at location: BlobLocation, codec: BlobCodec,
        into out: inout [UInt8]
    ) throws -> Int {
        let key = codec.subkey(master: master, salt: location.salt)
        return try key.withUnsafeBytes { k in
            try codec.open(sealed, entry: location.entry, key: k, pack: location.pack.hex, into: &out)
        }
    }

    public func loadTree(_ id: BlobID, codec: BlobCodec) throws -> Tree {
        try Tree.decode(try readBlob(id, codec: codec), what: "tree \(id.shortHex)")
    }

    public func makeCodec() -> BlobCodec { BlobCodec(level: config.compressionLevel) }

    // MARK: Audit mirror

    /// Stores a copy of a host's audit log, so its history survives the loss of the server. Named
    /// `<host>-<last sequence number>`; older copies of the same host are removed after the new one
    /// is durable.
    public func mirrorAudit(host: String, lastSequence: Int, log: [UInt8]) throws {
        let safeHost = Self.auditHost(host)
        let name = "\(safeHost)-\(String(format: "%012d", lastSequence))"
        let handle = ObjectHandle(.audit, name)
        if try backend.stat(handle) == nil {
            try backend.write(handle, SealedFile.seal(log, kind: .audit, master: master))
        }
        for old in try backend.list(.audit) where old.name.hasPrefix(safeHost + "-") && old.name < name {
            try backend.delete(ObjectHandle(.audit, old.name))
        }
    }

    /// A host name as it appears in audit mirror names (and in `mirroredAudits`).
    public static func auditHost(_ host: String) -> String {
        String(host.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" })
    }

    /// The newest mirrored audit log of each host.
    public func mirroredAudits() throws -> [(host: String, log: [UInt8])] {
        var newest: [String: String] = [:]
        for info in try backend.list(.audit) {
            guard let dash = info.name.lastIndex(of: "-") else { continue }
            let host = String(info.name[..<dash])
            if info.name > newest[host] ?? "" { newest[host] = info.name }
        }
        return try newest.sorted { $0.key < $1.key }.map { host, name in
            (
                host,
                try SealedFile.open(
                    try backend.read(ObjectHandle(.audit, name)), kind: .audit, master: master,
                    what: "audit mirror \(name)")
            )
        }
    }

    // MARK: Snapshots

    public func saveSnapshot(_ snapshot: Snapshot) throws -> SnapshotID {
        // Last chance before the snapshot names this run's data: the lock that kept prunes out must
        // still be ours, or a prune may have deleted some of that data (FORMAT.md, "Locks").
        try confirmLocksHeld()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let sealed = SealedFile.seal(Array(try encoder.encode(snapshot)), kind: .snapshot, master: master)
        let id = SnapshotID(SHA256.hash(sealed))
        try backend.write(ObjectHandle(.snapshot, id.hex), sealed)
        return id
    }

    public func loadSnapshot(_ id: SnapshotID) throws -> SnapshotRecord {
        try loadSnapshot(named: id.hex)
    }

    /// Loads `snapshots/<name>` as listed: a name that is no id fails as altered, as its bytes
    /// cannot hash to it (so a stray file is reported, never skipped in silence).
    private func loadSnapshot(named name: String) throws -> SnapshotRecord {
        try readSealed(
            ObjectHandle(.snapshot, name), kind: .snapshot, what: "snapshot \(name.prefix(8))",
            hint: "restore from another snapshot; 'chainvault verify' lists the damage"
        ) { plain in
            do {
                // readSealed checked that the bytes hash to `name`, so it is an id.
                return SnapshotRecord(
                    id: SnapshotID(hex: name)!, snapshot: try JSONDecoder().decode(Snapshot.self, from: Data(plain)))
            } catch {
                throw VaultError(.corrupt, "snapshot \(name.prefix(8)) is not valid JSON", cause: error)
            }
        }
    }

    /// All snapshots, oldest first (`SnapshotOrder`). A damaged snapshot file is an error; use
    /// `listSnapshotsReportingDamage` to get the readable ones and the errors.
    public func listSnapshots() throws -> [SnapshotRecord] {
        let (good, bad) = try listSnapshotsReportingDamage()
        if let first = bad.first { throw first }
        return good
    }

    public func listSnapshotsReportingDamage() throws -> ([SnapshotRecord], [VaultError]) {
        let names = try backend.list(.snapshot).map(\.name)
        let results: [Result<SnapshotRecord, VaultError>] = try Parallel.map(names) { name in
            do { return .success(try loadSnapshot(named: name)) } catch let e as VaultError { return .failure(e) }
        }
        var good: [SnapshotRecord] = [], bad: [VaultError] = []
        for r in results {
            switch r {
            case .success(let s): good.append(s)
            case .failure(let e): bad.append(e)
            }
        }
        return (SnapshotOrder.sorted(good), bad)
    }

    /// `latest` (the newest complete snapshot of `source` and `host` when given), a full id, or a
    /// unique prefix. For commands that only read: `latest` is the newest whatever its source.
    public func resolveSnapshot(_ reference: String, source: String? = nil, host: String? = nil) throws
        -> SnapshotRecord
    {
        try resolveSnapshot(
            reference,
            selecting: SnapshotSelection(
                filter: SnapshotFilter(host: host, source: source),
                refuseAmbiguous: false))
    }

    /// `latest` as `selection` resolves it (FORMAT.md §8, "Selection"), a full id, or a unique
    /// prefix (an id names one snapshot: the selection does not apply to it).
    public func resolveSnapshot(_ reference: String, selecting selection: SnapshotSelection) throws -> SnapshotRecord {
        if reference == "latest" { return try selection.latest(try listSnapshots()) }
        let names = try backend.list(.snapshot).map(\.name).filter { $0.hasPrefix(reference.lowercased()) }
        guard !reference.isEmpty, names.count == 1 else {
            throw VaultError(
                .unknownSnapshot,
                names.isEmpty
                    ? "no snapshot \(reference)"
                    : "snapshot id prefix \(reference) is ambiguous (\(names.count) match)",
                hint: "'chainvault snapshots' lists the ids; 'latest' names the newest")
        }
        return try loadSnapshot(named: names[0])
    }
}
