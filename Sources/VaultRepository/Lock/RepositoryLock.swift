import Foundation
import Glibc
import VaultCore
@_spi(Repository) import VaultStorage

/// A lock object in `locks/<random id>` (plain JSON: it must be readable by anyone who finds the
/// repository locked, before any key is loaded). Shared locks (backup, verify, restore) coexist;
/// an exclusive lock (forget/prune, key removal) excludes every other lock. Staleness is judged
/// by `LockStaleness`; a holder confirms its lock before it commits (`confirmHeld`).
public final class RepositoryLock: @unchecked Sendable {
    // Safe to share: every mutable field is touched only under `lock`.
    struct Document: Codable, Equatable {
        var exclusive: Bool
        var hostname: String
        var pid: Int32
        var username: String
        var command: String
        var time: String
        var refreshed: String
        // Since locks were judged by process identity (absent in older locks: then age decides).
        var bootID: String?
        var pidNamespace: UInt64?
        var startTime: UInt64?
        var kernelLock: Bool?

        var holder: ProcessIdentity {
            ProcessIdentity(
                hostname: hostname, bootID: bootID, pidNamespace: pidNamespace, pid: pid,
                startTime: startTime)
        }
    }

    /// A lock whose holder cannot be observed is stale after this (see `LockStaleness`).
    public static let staleAfter: TimeInterval = LockStaleness.staleAfter
    static let refreshEvery: TimeInterval = 5 * 60

    let backend: Backend
    let lock = NSLock()
    var name: String
    var document: Document
    var lease: ObjectLease?
    var timer: RepeatingTimer?
    var released = false
    /// Set when the lock object was found gone or replaced: nothing may be committed under it.
    var lostName: String?
    public private(set) var removedStale: [String] = []

    private init(backend: Backend, name: String, document: Document, lease: ObjectLease?) {
        self.backend = backend; self.name = name; self.document = document; self.lease = lease
    }

    public var command: String { document.command }

    public static func acquire(_ backend: Backend, exclusive: Bool, command: String) throws -> RepositoryLock {
        try acquire(backend, exclusive: exclusive, command: command, unlockedIfRefused: false)!
    }

    /// For commands that only read: nil (go on without a lock) when the repository refuses the
    /// lock write (a read-only mount, read-only credentials). Conflicts are still refused.
    public static func acquireForReading(_ backend: Backend, command: String) throws -> RepositoryLock? {
        try acquire(backend, exclusive: false, command: command, unlockedIfRefused: true)
    }

    private static func acquire(
        _ backend: Backend, exclusive: Bool, command: String,
        unlockedIfRefused: Bool
    ) throws -> RepositoryLock? {
        var stale: [String] = []
        try checkConflicts(backend, exclusive: exclusive, ignoring: nil, stale: &stale)
        let me = ProcessIdentity.current
        let now = Timestamp.now()
        let doc = Document(
            exclusive: exclusive, hostname: me.hostname, pid: me.pid, username: currentUser(),
            command: command, time: now, refreshed: now, bootID: me.bootID,
            pidNamespace: me.pidNamespace, startTime: me.startTime,
            kernelLock: backend is KernelLocking ? true : nil)
        let written: (name: String, lease: ObjectLease?)
        do { written = try store(doc, in: backend) } catch {
            if unlockedIfRefused, backend.isWriteRefusal(error) { return nil }
            throw error
        }
        let held = RepositoryLock(backend: backend, name: written.name, document: doc, lease: written.lease)
        // Re-check after writing: of two processes that both passed the first check and now see
        // each other, the younger backs off and the older waits for it to (FORMAT.md §9).
        do { try settle(backend, exclusive: exclusive, own: written.name, stale: &stale) } catch {
            held.release()
            throw error
        }
        held.removedStale = stale
        held.startRefreshing()
        return held
    }

    /// Writes a lock document under a new random name, kernel-locked where the backend can.
    static func store(_ doc: Document, in backend: Backend) throws -> (name: String, lease: ObjectLease?) {
        let name = Hex.encode(SecureRandom.bytes(16))
        let bytes = Array(try JSONEncoder().encode(doc))
        let handle = ObjectHandle(.lock, name)
        if let kernel = backend as? KernelLocking { return (name, try kernel.writeHeld(handle, bytes)) }
        try backend.write(handle, bytes)
        return (name, nil)
    }

    private static func checkConflicts(
        _ backend: Backend, exclusive: Bool, ignoring own: String?,
        stale: inout [String]
    ) throws {
        if let first = try conflicts(backend, exclusive: exclusive, own: own, stale: &stale).others.first {
            throw lockedError(first.doc)
        }
    }

    /// The live locks that conflict with one of ours (`exclusive`), and our own lock's listing entry.
    /// Stale locks met on the way are removed where the store lets us (and only then reported).
    static func conflicts(
        _ backend: Backend, exclusive: Bool, own: String?,
        stale: inout [String]
    ) throws -> (mine: ObjectInfo?, others: [Conflict]) {
        var storeNow: Date??
        var mine: ObjectInfo?
        var others: [Conflict] = []
        for info in try backend.list(.lock) {
            if info.name == own { mine = info; continue }
            let handle = ObjectHandle(.lock, info.name)
            guard let bytes = try? backend.read(handle) else { continue }  // released meanwhile
            guard let doc = try? JSONDecoder().decode(Document.self, from: Data(bytes)) else {
                throw VaultError(
                    .locked, "the repository has an unreadable lock \(handle) (damaged or not written by chainvault)",
                    hint:
                        "if no chainvault command is using this repository, remove it with 'chainvault unlock --remove-all'"
                )
            }
            if storeNow == nil { storeNow = .some((try? (backend as? StoreClock)?.storeNow()) ?? nil) }
            if case .stale(let why) = judge(doc, info, backend: backend, storeNow: storeNow!) {
                // Only a deletion that happened is reported: an append-only credential is refused it,
                // and a stale lock excludes nobody either way.
                guard (try? backend.delete(handle)) != nil else { continue }
                stale.append("\(doc.command) pid \(doc.pid) on \(doc.hostname) since \(doc.time) (\(why))")
                continue
            }
            if exclusive || doc.exclusive { others.append((info, doc)) }
        }
        return (mine, others)
    }

    typealias Conflict = (info: ObjectInfo, doc: Document)

    static func lockedError(_ doc: Document) -> VaultError {
        VaultError(
            .locked,
            "the repository is locked \(doc.exclusive ? "exclusively" : "(shared)") by '\(doc.command)' (pid \(doc.pid) on \(doc.hostname), user \(doc.username)) since \(doc.time), last refreshed \(doc.refreshed)",
            hint: "wait for it to finish; if that process is gone, the lock becomes stale as soon as that "
                + "is seen (same host), else 45 minutes after its last refresh by the store's clock; "
                + "or remove it now with 'chainvault unlock --remove-all'")
    }

    static func judge(_ doc: Document, _ info: ObjectInfo, backend: Backend, storeNow: Date?) -> LockStaleness.Verdict {
        let handle = ObjectHandle(.lock, info.name)
        let observed = LockStaleness.Observation(
            kernelHeld: (backend as? KernelLocking)?.isHeld(handle),
            storeAge: storeNow.flatMap { now in info.modified.map { now.timeIntervalSince($0) } },
            localAge: Timestamp.parse(doc.refreshed).map { Date().timeIntervalSince($0) })
        return LockStaleness.judge(
            holder: doc.holder, kernelLocked: doc.kernelLock == true, observed: observed,
            checker: .current, startTime: ProcessIdentity.startTime(of:),
            procIsOwn: ProcessIdentity.procMatchesNamespace)
    }

    func startRefreshing() {
        timer = RepeatingTimer(interval: Self.refreshEvery, name: "lock-refresh") { [weak self] in self?.refresh() }
    }

    public func release() {
        lock.withLock {
            timer?.cancel()
            timer = nil
            released = true
            if lostName == nil { try? backend.delete(ObjectHandle(.lock, name)) }
            lease?.release()
            lease = nil
        }
    }

    deinit { timer?.cancel() }

    /// What `unlock` did: the locks it removed and the objects it left because nothing proves
    /// they are locks (hostile storage can plant any file in `locks/`).
    public struct UnlockResult: Sendable {
        public var removed: [String] = []
        public var notLocks: [String] = []
    }

    /// Removes stale locks, or every object in `locks/` with `all`.
    public static func unlock(_ backend: Backend, all: Bool) throws -> UnlockResult {
        var result = UnlockResult()
        let storeNow = all ? nil : ((try? (backend as? StoreClock)?.storeNow()) ?? nil)
        for info in try backend.list(.lock) {
            let handle = ObjectHandle(.lock, info.name)
            let doc = parse(backend, info)
            guard all || doc != nil else { result.notLocks.append(handle.relativePath); continue }
            if all || judge(doc!, info, backend: backend, storeNow: storeNow).isStale {
                try backend.delete(handle)
                result.removed.append(
                    doc.map { "\(info.name.prefix(8)) \($0.command) pid \($0.pid) on \($0.hostname)" }
                        ?? "\(info.name.prefix(8)) (unreadable)")
            }
        }
        return result
    }

    /// The lock document, only when the object is provably one chainvault wrote: a name of 32 hex
    /// digits, a size within the lock limit, JSON that decodes as a lock with timestamps that parse.
    static func parse(_ backend: Backend, _ info: ObjectInfo) -> Document? {
        guard info.name.count == 32, Hex.decode(info.name) != nil, info.size <= ObjectLimits.maximum(.lock),
            let bytes = try? backend.read(ObjectHandle(.lock, info.name)),
            let doc = try? JSONDecoder().decode(Document.self, from: Data(bytes)),
            Timestamp.parse(doc.time) != nil, Timestamp.parse(doc.refreshed) != nil
        else { return nil }
        return doc
    }
}
