import Foundation
import Glibc
import VaultCore
import VaultStorage

/// A lock object in `locks/<random id>` (plain JSON: it must be readable by anyone who finds the
/// repository locked, before any key is loaded). Shared locks (backup, verify, restore) coexist;
/// an exclusive lock (forget/prune, key removal) excludes every other lock.
public final class RepositoryLock: @unchecked Sendable {
    struct Document: Codable {
        var exclusive: Bool
        var hostname: String
        var pid: Int32
        var username: String
        var command: String
        var time: String
        var refreshed: String
    }

    /// A lock not refreshed for 30 minutes is stale (its holder refreshes every 5).
    public static let staleAfter: TimeInterval = 30 * 60
    static let refreshEvery: TimeInterval = 5 * 60

    private let backend: Backend
    private let lock = NSLock()
    private var name: String
    private var document: Document
    private var timer: DispatchSourceTimer?
    public private(set) var removedStale: [String] = []

    private init(backend: Backend, name: String, document: Document) {
        self.backend = backend; self.name = name; self.document = document
    }

    public static func acquire(_ backend: Backend, exclusive: Bool, command: String) throws -> RepositoryLock {
        var stale: [String] = []
        try checkConflicts(backend, exclusive: exclusive, ignoring: nil, stale: &stale)
        let now = Timestamp.now()
        let doc = Document(exclusive: exclusive, hostname: ProcessInfo.processInfo.hostName, pid: getpid(),
                           username: currentUser(), command: command, time: now, refreshed: now)
        let name = Hex.encode(SecureRandom.bytes(16))
        try backend.write(ObjectHandle(.lock, name), Array(try JSONEncoder().encode(doc)))
        let held = RepositoryLock(backend: backend, name: name, document: doc)
        // Re-check after writing: two processes that both passed the first check now see each other,
        // and both back off (never both proceed).
        do { try checkConflicts(backend, exclusive: exclusive, ignoring: name, stale: &stale) } catch {
            try? backend.delete(ObjectHandle(.lock, name))
            throw error
        }
        held.removedStale = stale
        held.startRefreshing()
        return held
    }

    private static func checkConflicts(_ backend: Backend, exclusive: Bool, ignoring own: String?, stale: inout [String]) throws {
        for info in try backend.list(.lock) where info.name != own {
            let handle = ObjectHandle(.lock, info.name)
            guard let bytes = try? backend.read(handle) else { continue } // released meanwhile
            guard let doc = try? JSONDecoder().decode(Document.self, from: Data(bytes)) else {
                throw VaultError(.locked, "the repository has an unreadable lock \(handle) (damaged or not written by chainvault)",
                                 hint: "if no chainvault command is using this repository, remove it with 'chainvault unlock --remove-all'")
            }
            if isStale(doc) {
                try? backend.delete(handle)
                stale.append("\(doc.command) pid \(doc.pid) on \(doc.hostname) since \(doc.time)")
                continue
            }
            if exclusive || doc.exclusive {
                throw VaultError(.locked,
                                 "the repository is locked \(doc.exclusive ? "exclusively" : "(shared)") by '\(doc.command)' (pid \(doc.pid) on \(doc.hostname), user \(doc.username)) since \(doc.time), last refreshed \(doc.refreshed)",
                                 hint: "wait for it to finish; if that process is gone, the lock becomes stale 30 minutes after its last refresh, or remove it now with 'chainvault unlock --remove-all'")
            }
        }
    }

    /// Stale: its process is gone (same host), or it has not been refreshed for `staleAfter`.
    static func isStale(_ doc: Document) -> Bool {
        if let refreshed = Timestamp.parse(doc.refreshed), Date().timeIntervalSince(refreshed) > staleAfter { return true }
        if doc.hostname == ProcessInfo.processInfo.hostName, doc.pid > 0, kill(doc.pid, 0) != 0, errno == ESRCH { return true }
        return false
    }

    private func startRefreshing() {
        let t = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
        t.schedule(deadline: .now() + Self.refreshEvery, repeating: Self.refreshEvery)
        t.setEventHandler { [weak self] in self?.refresh() }
        t.resume()
        timer = t
    }

    /// Writes a new lock object, then deletes the old one: objects are never overwritten.
    func refresh() {
        lock.withLock {
            guard timer != nil else { return }
            var doc = document
            doc.refreshed = Timestamp.now()
            let newName = Hex.encode(SecureRandom.bytes(16))
            guard let bytes = try? JSONEncoder().encode(doc), (try? backend.write(ObjectHandle(.lock, newName), Array(bytes))) != nil else { return }
            try? backend.delete(ObjectHandle(.lock, name))
            name = newName
            document = doc
        }
    }

    public func release() {
        lock.withLock {
            timer?.cancel()
            timer = nil
            try? backend.delete(ObjectHandle(.lock, name))
        }
    }

    deinit { timer?.cancel() }

    /// Removes stale locks, or every lock with `all`; returns what it removed.
    public static func unlock(_ backend: Backend, all: Bool) throws -> [String] {
        var removed: [String] = []
        for info in try backend.list(.lock) {
            let handle = ObjectHandle(.lock, info.name)
            let doc = (try? backend.read(handle)).flatMap { try? JSONDecoder().decode(Document.self, from: Data($0)) }
            if all || doc == nil || isStale(doc!) {
                try backend.delete(handle)
                removed.append(doc.map { "\(info.name.prefix(8)) \($0.command) pid \($0.pid) on \($0.hostname)" } ?? "\(info.name.prefix(8)) (unreadable)")
            }
        }
        return removed
    }
}
