import Foundation

/// Whether a lock's holder is gone, from the evidence a checker has (FORMAT.md, "Locks"). The
/// strongest evidence decides: a kernel lock, then the holder's very process, and only when
/// neither can be seen, the lock's age on the store's clock. Removing a live lock lets a prune
/// delete a running backup's data, so every doubt keeps the lock.
public enum LockStaleness {
    /// A lock whose holder cannot be observed is stale once unrefreshed for this long (its holder
    /// refreshes every 5 minutes).
    public static let staleAfter: TimeInterval = 30 * 60
    /// Added to `staleAfter` for age measured on the store's clock: one-second `Date` headers,
    /// an NFS server's clock against its clients', a refresher delayed by a loaded host.
    public static let tolerance: TimeInterval = 15 * 60

    /// What the checker observed about one lock object.
    public struct Observation: Sendable {
        /// From the backend's kernel lock: true = held by a live process, false = by none, nil = unknown.
        public var kernelHeld: Bool?
        /// Store "now" minus the object's store modification time.
        public var storeAge: TimeInterval?
        /// This host's now minus the `refreshed` time written in the lock (used when the store
        /// cannot tell ages: it depends on two hosts' clocks).
        public var localAge: TimeInterval?
        public init(kernelHeld: Bool? = nil, storeAge: TimeInterval? = nil, localAge: TimeInterval? = nil) {
            self.kernelHeld = kernelHeld; self.storeAge = storeAge; self.localAge = localAge
        }
    }

    public enum Verdict: Equatable, Sendable {
        case live(String)
        case stale(String)
        public var isStale: Bool { if case .stale = self { return true } else { return false } }
    }

    /// - Parameters:
    ///   - holder: the identity recorded in the lock (fields absent in locks of older versions are nil).
    ///   - kernelLocked: the holder said it keeps a kernel lock on the object.
    ///   - checker: this process.
    ///   - startTime: the start time of a pid as this process's /proc shows it (nil: no such process).
    ///   - procIsOwn: this process's /proc belongs to its own PID namespace.
    public static func judge(
        holder: ProcessIdentity, kernelLocked: Bool, observed: Observation,
        checker: ProcessIdentity, startTime: (Int32) -> UInt64?, procIsOwn: Bool
    ) -> Verdict {
        if observed.kernelHeld == true { return .live("a running process holds its lock file") }
        let sameKernel = holder.bootID != nil && holder.bootID == checker.bootID
        // flock is authoritative within one kernel; across machines (NFS with local locks) a free
        // lock may only mean the lock is not shared, so it proves nothing there.
        if observed.kernelHeld == false, kernelLocked, sameKernel {
            return .stale("no process holds its lock file any more")
        }
        if holder.hostname == checker.hostname, sameKernel, procIsOwn, let ns = holder.pidNamespace,
            ns == checker.pidNamespace, let started = holder.startTime
        {
            if startTime(holder.pid) == started { return .live("its process \(holder.pid) is running") }
            return .stale("its process \(holder.pid) is gone")
        }
        if let age = observed.storeAge {
            guard age > staleAfter + tolerance else { return .live("refreshed recently") }
            return .stale("not refreshed for \(Int(age / 60)) minutes by the store's clock")
        }
        if let age = observed.localAge, age > staleAfter {
            return .stale("not refreshed for \(Int(age / 60)) minutes by this host's clock")
        }
        return .live("refreshed recently")
    }
}
