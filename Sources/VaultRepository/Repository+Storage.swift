import Foundation
import VaultCore
@_spi(Repository) import VaultStorage

/// What the operations above VaultRepository ask of the storage, named for what they mean. They
/// never see `backend` or an `ObjectHandle` (issue 16): the write order of FORMAT.md §10 and the
/// re-read rule (`Reread`) are kept here, in one place.
extension Repository {
    /// Where the repository lives (a path or an `s3://` address), for messages.
    public var location: String { backend.location }

    /// How many requests the store serves well at once (S3: many; a local directory: few).
    public var preferredConcurrency: Int { backend.preferredConcurrency }

    /// The store's "now" (S3's `Date` header, a probe file's time locally), this host's clock when
    /// the store cannot tell: ages of stored objects are judged against the store, not the host.
    public func storeNow() -> Date { backend.storeNowOrLocal() }

    /// True when `error` is the store refusing writes (a read-only mount or credentials).
    public func isWriteRefusal(_ error: Error) -> Bool { backend.isWriteRefusal(error) }

    /// Deletes so far that a versioned bucket answered with a delete marker (0 elsewhere).
    public var deletesHiddenByMarkers: Int { (backend as? DeleteMarkerCounting)?.deletesHidden ?? 0 }

    /// Snapshots dated ahead of the store's clock (FORMAT.md §8).
    public func judgeSnapshotClock(_ records: [SnapshotRecord]) -> SnapshotClock.Judgement {
        SnapshotClock.judge(records, backend: backend)
    }

    // MARK: Listings

    /// The pack files in storage, with their sizes and (when the store says) write times.
    public func listPacks() throws -> [ObjectInfo] { try backend.list(.pack) }

    /// The names of the index files in storage, as listed (a stray name that is no id included:
    /// `loadIndex` reports it as damage).
    public func listIndexFileNames() throws -> [String] { try backend.list(.index).map(\.name) }

    /// The ids of the snapshot files in storage (whether they can be read or not; a name that is
    /// no id cannot be a snapshot's and is not listed, `listSnapshotsReportingDamage` reports it).
    public func listSnapshotIDs() throws -> [SnapshotID] {
        try backend.list(.snapshot).compactMap { SnapshotID(hex: $0.name) }
    }

    // MARK: Packs

    /// Reads a whole pack; when its bytes do not match its name (SHA-256), reads it once more on a
    /// new connection (`Reread`). `intact` false: two reads, the second whole, were damaged.
    public func readPack(_ id: PackID) throws -> (bytes: [UInt8], intact: Bool) {
        try Reread.read(backend, ObjectHandle(.pack, id.hex)) { SHA256.hash($0) == id.digest }
    }

    /// `readPack` into `buffer`, which the caller keeps from pack to pack (verify: one per worker,
    /// so reading thousands of packs does not allocate and zero-fill a pack-sized buffer for each).
    /// Returns `intact` as `readPack` does; `buffer` holds exactly the pack's bytes.
    public func readPack(_ name: String, reusing buffer: inout [UInt8]) throws -> Bool {
        try Reread.read(backend, ObjectHandle(.pack, name), reusing: &buffer) { SHA256.hash($0).hex == name }
    }

    /// Authenticates the header of a pack read whole (`readPack`); returns its salt and entries.
    public func openPackHeader(_ bytes: [UInt8], what: String) throws -> (salt: [UInt8], entries: [PackEntry]) {
        let salt = try PackFormat.checkPreamble(bytes, what: what)
        return (
            salt, try PackFormat.parseHeader(tail: bytes, packSize: bytes.count, salt: salt, master: master, what: what)
        )
    }

    /// Deletes packs, one at a time, in the order given; `deleted` is told after each. Only a
    /// prune calls it, after the index that no longer names them is durable (FORMAT.md, "Prune").
    public func deletePacks(_ ids: [PackID], deleted: (PackID) -> Void = { _ in }) throws {
        for id in ids {
            try backend.delete(ObjectHandle(.pack, id.hex))
            deleted(id)
        }
    }

    /// Deletes index files; only after an index that supersedes them is durable.
    public func deleteIndexFiles(_ ids: [IndexID]) throws {
        try deleteIndexFiles(named: ids.map(\.hex))
    }

    /// `deleteIndexFiles` by the names a listing gave (a stray name that is no id included).
    func deleteIndexFiles(named names: [String]) throws {
        for name in names { try backend.delete(ObjectHandle(.index, name)) }
    }

    // MARK: Keys

    /// Every key file, readable or not (`KeyRing.list`).
    public func listKeys() throws -> [KeyInfo] { try KeyRing.list(backend) }

    /// Stores a new key file for this repository's master key; returns its id.
    @discardableResult
    public func addKey(_ credential: Credential) throws -> KeyID {
        try KeyRing.add(backend, master: master, credential: credential)
    }

    /// Stores a new threshold key (any `threshold` of `operators` open it); returns its id.
    public func addThresholdKey(threshold: Int, operators: [OperatorKey]) throws -> KeyID {
        try ThresholdKey.add(backend, master: master, threshold: threshold, operators: operators)
    }

    /// Removes a key file (by id or unique prefix); never the one this repository was opened with.
    public func removeKey(_ id: String) throws { try KeyRing.remove(backend, id: id, current: keyID) }

    // MARK: Readiness

    /// What a readiness probe sees of a repository it has not opened (no key needed).
    public struct Probe: Sendable {
        /// The config object's size; nil when there is none.
        public let configBytes: Int?
        /// Lock objects present (this process's and others').
        public let locks: Int
    }

    /// Looks at `backend` as a readiness probe: the config's size, then the lock listing.
    public static func probe(_ backend: Backend) throws -> Probe {
        guard let size = try backend.stat(.config), size > 0 else { return Probe(configBytes: nil, locks: 0) }
        return Probe(configBytes: size, locks: try backend.list(.lock).count)
    }
}
