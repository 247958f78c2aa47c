import Foundation
import VaultCore
@_spi(Repository) import VaultStorage

// What a holder does while it holds: refresh its lock, and prove it still holds it before it
// commits anything that references new data. A lock can vanish under its holder (another host
// judged it stale, someone ran `unlock --remove-all`): a prune may then have deleted data this
// holder wrote or reuses, and a snapshot committed now could name blobs that are gone.
extension RepositoryLock {
    /// True once the lock was found removed or replaced; every later commit fails.
    public var isLost: Bool { lock.withLock { lostName != nil } }

    /// Throws (`.locked`) unless the lock object is still in storage with the document this holder
    /// wrote. A failure to read it is thrown as it is: unconfirmed is not confirmed.
    public func confirmHeld() throws {
        try lock.withLock {
            if let lost = lostName { throw lostError(lost) }
            guard !released else { return }
            guard try stillOursLocked() else {
                lostName = name
                timer?.cancel()
                timer = nil
                throw lostError(name)
            }
        }
    }

    /// Writes a new lock object (kernel-locked before the old one is deleted), then deletes the
    /// old one: objects are never overwritten. The timer calls it; tests may call it directly. A
    /// lock found gone is not written again (what it protected may be deleted already): the
    /// holder learns it at its next `confirmHeld`.
    public func refresh() {
        lock.withLock {
            guard timer != nil, lostName == nil, !released else { return }
            guard let ours = try? stillOursLocked() else { return }  // unreadable now: try again later
            guard ours else {
                lostName = name
                timer?.cancel()
                timer = nil
                return
            }
            var doc = document
            doc.refreshed = Timestamp.now()
            guard let written = try? Self.store(doc, in: backend) else { return }
            try? backend.delete(ObjectHandle(.lock, name))
            lease?.release()
            name = written.name
            lease = written.lease
            document = doc
        }
    }

    private func stillOursLocked() throws -> Bool {
        let bytes: [UInt8]
        do { bytes = try backend.read(ObjectHandle(.lock, name)) } catch let e as VaultError where e.code == .missing {
            return false
        }
        return (try? JSONDecoder().decode(Document.self, from: Data(bytes))) == document
    }

    private func lostError(_ lost: String) -> VaultError {
        VaultError(
            .locked,
            "the lock of this \(document.command) (locks/\(lost.prefix(8))) was removed by another process: "
                + "a prune may have deleted data it wrote or reuses, so nothing was committed",
            hint: "run the \(document.command) again (it stores again what is missing); if a prune "
                + "took the lock for stale, check that the hosts sharing this repository have distinct names")
    }
}
