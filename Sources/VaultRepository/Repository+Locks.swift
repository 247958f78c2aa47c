import Foundation
import Synchronization
import VaultCore
import VaultStorage

/// The locks this process holds on one repository. `Repository` asks them before every commit
/// that references new data (index files, snapshots), so no operation above it can forget to.
public final class HeldLocks: Sendable {
    private let locks = Mutex<[RepositoryLock]>([])

    func add(_ lock: RepositoryLock) { locks.withLock { $0.append(lock) } }

    /// Throws if any lock this process took on the repository was removed by someone else.
    func confirm() throws {
        for lock in locks.withLock({ $0 }) { try lock.confirmHeld() }
    }
}

extension Repository {
    /// Takes a lock on this repository and registers it, so that commits confirm it first.
    public func lock(exclusive: Bool, command: String) throws -> RepositoryLock {
        let held = try RepositoryLock.acquire(backend, exclusive: exclusive, command: command)
        heldLocks.add(held)
        return held
    }

    /// For commands that only read: nil when the repository refuses the lock write (read-only).
    public func lockForReading(command: String) throws -> RepositoryLock? {
        let held = try RepositoryLock.acquireForReading(backend, command: command)
        if let held { heldLocks.add(held) }
        return held
    }

    /// Before a commit: every lock taken through `lock(exclusive:command:)` is still ours.
    public func confirmLocksHeld() throws { try heldLocks.confirm() }
}
