import Glibc

/// How the daemon shares its descriptors between HTTP clients and jobs (issue 14). systemd's
/// default soft RLIMIT_NOFILE is 1,024 (hard 524,288), and a fixed cap of 1,024 connections let
/// idle clients take every descriptor: `accept` then failed with EMFILE and a backup with "Too
/// many open files". So the soft limit goes up to the hard one, and the connection cap leaves a
/// reserve that a job's open files, packs in flight, sockets to S3 and the log always fit in.
public struct DescriptorBudget: Sendable, Equatable {
    /// The soft limit after raising it.
    public let limit: Int
    /// HTTP connections held at once.
    public let connectionCap: Int

    /// Descriptors a job needs at most: the backup walk holds a bounded stack of directories
    /// (64), readers and pack writers (≈16), S3 connections (≈16), plus the daemon's own files.
    /// 256 is twice that sum.
    static let jobReserve = 256
    /// The cap that served 1,000 slowloris clients with probes under 100 ms (HTTPServerTests).
    static let maxConnections = 1024
    /// Enough for monitors and the API when the limit is very low.
    static let minConnections = 16

    /// The cap for a soft limit: the reserve first, then at most half of what is left, so the
    /// daemon keeps descriptors to spare whatever the clients do.
    public static func cap(forLimit limit: Int) -> Int {
        max(minConnections, min(maxConnections, (limit - jobReserve) / 2))
    }

    /// Raises the soft limit to the hard one (never the hard limit: that needs privileges). When
    /// that is refused (a seccomp filter without setrlimit) the budget uses the current soft limit.
    /// The corresponding C functions are `getrlimit` and `setrlimit`.
    public static func raise() -> (budget: DescriptorBudget, raised: Bool) {
        var limits = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits) == 0 else {
            return (DescriptorBudget(limit: 1024, connectionCap: cap(forLimit: 1024)), false)
        }
        var raised = false
        if limits.rlim_cur < limits.rlim_max {
            var wanted = limits
            wanted.rlim_cur = limits.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &wanted) == 0 { limits = wanted; raised = true }
        }
        // RLIM_INFINITY would overflow Int; no poll set needs more than this anyway.
        let soft = Int(min(limits.rlim_cur, rlim_t(1 << 20)))
        return (DescriptorBudget(limit: soft, connectionCap: cap(forLimit: soft)), raised)
    }
}
