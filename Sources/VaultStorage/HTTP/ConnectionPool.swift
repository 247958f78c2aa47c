import Synchronization
import VaultCore

/// Idle keep-alive connections per endpoint (`scheme://host:port`), at most `capacity` each:
/// a connection returns here after a fully read response and leaves with the next request.
/// Newest first, so the connections kept warm are the ones most recently known to work.
final class ConnectionPool: Sendable {
    // @unchecked: an idle connection is owned by the pool alone (behind `idle`'s lock) until
    // `take` hands it to one caller; no two threads ever use it at once.
    private struct Idle: @unchecked Sendable { let connection: NetConnection }
    private let idle = Mutex<[String: [Idle]]>([:])
    let capacity: Int

    init(capacity: Int) { self.capacity = max(capacity, 1) }

    /// An idle connection that still looks open, or nil. Closed ones are dropped on the way.
    func take(_ endpoint: String) -> NetConnection? {
        while let candidate = idle.withLock({ $0[endpoint]?.popLast() }) {
            if candidate.connection.isIdleAndOpen { return candidate.connection }
        }
        return nil
    }

    func put(_ connection: NetConnection, for endpoint: String) {
        let extra: Idle? = idle.withLock { all in
            all[endpoint, default: []].append(Idle(connection: connection))
            return all[endpoint]!.count > capacity ? all[endpoint]!.removeFirst() : nil
        }
        _ = extra  // the oldest beyond the bound is closed here, outside the lock
    }

    var idleCount: Int { idle.withLock { $0.values.reduce(0) { $0 + $1.count } } }
}
