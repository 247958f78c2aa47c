import Foundation
import VaultCore
import VaultStorage

// Two processes that write conflicting locks at the same moment both see the other's when they
// list after writing. If both backed off, neither would run (and retries could repeat that); so
// locks are ordered by (the store's modification time, name), and of two that see each other the
// younger backs off at once while the older waits, bounded, for it to go. Nobody proceeds while it
// sees a conflicting lock, so two holders never overlap: of any two, the one whose write finished
// later listed after the other's write finished, and saw it. Lock names are random, so none of
// this relies on `If-None-Match: *`, which a versioned S3 bucket may ignore (FORMAT.md §9).
extension RepositoryLock {
    /// How long an older lock waits for younger conflicting ones to back off (each does within one
    /// listing and a delete; an append-only client cannot delete its own, and then this expires).
    static let settleWait: TimeInterval = 20

    static func settle(_ backend: Backend, exclusive: Bool, own: String, stale: inout [String]) throws {
        let deadline = Date().addingTimeInterval(settleWait)
        while true {
            let (mine, others) = try conflicts(backend, exclusive: exclusive, own: own, stale: &stale)
            guard let first = others.first else { return }
            guard let mine, others.allSatisfy({ precedes(mine, $0.info) }), Date() < deadline else {
                throw lockedError(first.doc)
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
    }

    /// Whether lock `a` was written before lock `b`, by the store's clock, with the name deciding ties
    /// (a store that reports no times orders by name alone: still a total order, which is all it needs).
    static func precedes(_ a: ObjectInfo, _ b: ObjectInfo) -> Bool {
        let ta = a.modified ?? .distantPast, tb = b.modified ?? .distantPast
        return ta != tb ? ta < tb : a.name < b.name
    }
}
