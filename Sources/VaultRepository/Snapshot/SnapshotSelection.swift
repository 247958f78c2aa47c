import VaultCore

/// Resolves `latest` the way an operator means it (FORMAT.md §8, "Selection"): among the
/// snapshots the filter selects, narrowed to those whose source is a preferred one (a restore's
/// target) and then to this host's, when some are; the newest complete one in `SnapshotOrder`.
/// Snapshots of more than one source left after that make `latest` ambiguous: refused with the
/// candidates, never guessed (a bitcoind restore must not receive geth's data). One source
/// backed up from several hosts is one node that moved (a failover): `SnapshotOrder` orders its
/// snapshots across hosts, whatever their clocks, and `--host` picks one host's.
public struct SnapshotSelection: Sendable {
    public var filter: SnapshotFilter
    /// Sources to prefer when the filter names none (the restore target, as given and resolved).
    public var preferredSources: [String]
    /// The host to prefer when the filter names none (this host).
    public var preferredHost: String?
    /// False keeps the older meaning for commands that only read (`ls`, `verify`): the newest of
    /// the filtered snapshots, whatever its source.
    public var refuseAmbiguous: Bool

    public init(
        filter: SnapshotFilter = SnapshotFilter(), preferredSources: [String] = [],
        preferredHost: String? = nil, refuseAmbiguous: Bool = true
    ) {
        self.filter = filter; self.preferredSources = preferredSources; self.preferredHost = preferredHost
        self.refuseAmbiguous = refuseAmbiguous
    }

    /// The snapshots `latest` is chosen from, oldest first (`records` must be in `SnapshotOrder`).
    public func candidates(_ records: [SnapshotRecord]) -> [SnapshotRecord] {
        var chosen = records.filter { filter.matches($0.snapshot) }
        if filter.source == nil, !preferredSources.isEmpty {
            let same = chosen.filter { r in
                preferredSources.contains { SnapshotFilter.sameSource($0, r.snapshot.source) }
            }
            if !same.isEmpty { chosen = same }
        }
        if filter.host == nil, let host = preferredHost {
            let mine = chosen.filter { $0.snapshot.hostname == host }
            if !mine.isEmpty { chosen = mine }
        }
        return chosen
    }

    /// The newest complete candidate. Partial snapshots count when judging ambiguity (their source
    /// is still a different node's), never as `latest`.
    public func latest(_ records: [SnapshotRecord]) throws -> SnapshotRecord {
        let chosen = candidates(records)
        if refuseAmbiguous {
            var newestOf: [Substring: SnapshotRecord] = [:]
            var order: [Substring] = []
            for r in chosen {
                let key = SnapshotFilter.trimmed(r.snapshot.source)
                if newestOf[key] == nil { order.append(key) }
                newestOf[key] = r
            }
            if order.count > 1 { throw ambiguous(order.compactMap { newestOf[$0] }) }
        }
        let what = filter.described
        // A partial snapshot, or one whose required chain check failed, is never `latest`.
        guard let last = chosen.last(where: { !$0.snapshot.isPartial && !$0.snapshot.chainCheckFailed }) else {
            if let failed = chosen.last(where: { $0.snapshot.chainCheckFailed }), !failed.snapshot.isPartial {
                throw VaultError(
                    .unknownSnapshot, "the repository has only snapshots\(what) whose required chain check failed",
                    hint: "'chainvault snapshots' shows their problems; name one by its id to use it anyway "
                        + "(e.g. \(failed.shortID))")
            }
            if let partial = chosen.last {
                throw VaultError(
                    .unknownSnapshot,
                    "the repository has only partial snapshots\(what): "
                        + "some files could not be read completely",
                    hint: "name one by its id to use it anyway (e.g. \(partial.shortID)); "
                        + "'chainvault snapshots' lists them")
            }
            throw VaultError(
                .unknownSnapshot, "the repository has no snapshots\(what)",
                hint: "run 'chainvault backup' first; 'chainvault snapshots' lists what there is")
        }
        return last
    }

    private func ambiguous(_ newest: [SnapshotRecord]) -> VaultError {
        let rows = newest.map { r in
            let s = r.snapshot
            return "  \(r.shortID)  \(Timestamp.format(s.time).prefix(19))  host \(s.hostname)  source \(s.source)  "
                + "policy \(s.policy ?? "-")"
        }
        return VaultError(
            .unknownSnapshot,
            "'latest' is ambiguous\(filter.described): the repository holds snapshots of \(newest.count) "
                + "sources, the newest of each:\n" + rows.joined(separator: "\n"),
            hint: "select one with --host, --source, --policy or --tag, or name a snapshot by its id")
    }
}
