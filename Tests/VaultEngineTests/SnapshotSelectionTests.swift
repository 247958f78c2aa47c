import Foundation
import Testing
import VaultCore
import VaultEngine
import VaultRepository

private func made(
    _ time: String, _ source: String, host: String = "node1", policy: String? = nil, tags: [String] = [],
    partial: Bool = false
) -> SnapshotRecord {
    var s = record(time, source: source, host: host).snapshot
    s.policy = policy; s.tags = tags
    if partial { s.partial = true; s.incomplete = ["a"] }
    return SnapshotRecord(id: SnapshotID(SHA256.hash(time + source + host + (policy ?? ""))), snapshot: s)
}

/// One repository, the README's daemon set-up: bitcoind's and geth's snapshots, geth's newest.
private let bitcoind1 = made("2026-12-01T08:00:00Z", "/var/lib/bitcoind", policy: "bitcoind")
private let bitcoind2 = made("2026-12-01T09:00:00Z", "/var/lib/bitcoind", policy: "bitcoind", tags: ["weekly"])
private let geth = made("2026-12-01T10:00:00Z", "/var/lib/geth", policy: "geth")
private let otherHost = made("2026-12-01T11:00:00Z", "/var/lib/bitcoind", host: "node2", policy: "bitcoind")
private let all = SnapshotOrder.sorted([bitcoind1, bitcoind2, geth, otherHost])

/// `latest` for a target is the newest snapshot of that source, this host's first; the newest
/// snapshot of the repository (geth's, node2's) is not it.
@Test func latestForARestoreTargetIsThatSourcesNewestOnThisHost() throws {
    let restore = SnapshotSelection(preferredSources: ["/var/lib/bitcoind/"], preferredHost: "node1")
    #expect(try restore.latest(all).id == bitcoind2.id)
    #expect(
        try SnapshotSelection(preferredSources: ["/var/lib/geth"], preferredHost: "node1").latest(all).id == geth.id)
    // A replacement server (another host name) gets the one node whose source the target is...
    #expect(try SnapshotSelection(preferredSources: ["/var/lib/geth"], preferredHost: "new").latest(all).id == geth.id)
    // ...and the explicit filters select strictly.
    #expect(try SnapshotSelection(filter: SnapshotFilter(host: "node2")).latest(all).id == otherHost.id)
    #expect(try SnapshotSelection(filter: SnapshotFilter(policy: "geth")).latest(all).id == geth.id)
    #expect(try SnapshotSelection(filter: SnapshotFilter(tags: ["weekly"])).latest(all).id == bitcoind2.id)
    #expect(
        try SnapshotSelection(filter: SnapshotFilter(source: "/var/lib/bitcoind"), preferredHost: "node1").latest(all)
            .id
            == bitcoind2.id)
}

/// A target that is no snapshot's source, on a host with two nodes: refused, with each
/// candidate's id, host, source and policy, and a hint naming the filters (exit 18).
@Test func anAmbiguousLatestIsRefusedWithTheCandidates() throws {
    let selection = SnapshotSelection(preferredSources: ["/tmp/scratch"], preferredHost: "node1")
    let error = #expect(throws: VaultError.self) { try selection.latest(all) }
    #expect(error?.code == .unknownSnapshot)
    let message = error?.message ?? ""
    #expect(message.hasPrefix("'latest' is ambiguous: the repository holds snapshots of 2 sources"), "\(message)")
    #expect(
        message.contains(
            "\(bitcoind2.shortID)  2026-12-01T09:00:00  host node1  source /var/lib/bitcoind  policy bitcoind"))
    #expect(message.contains("\(geth.shortID)  2026-12-01T10:00:00  host node1  source /var/lib/geth  policy geth"))
    #expect(!message.contains(otherHost.shortID), "node2's snapshot is not this host's: not a candidate")
    #expect(error?.hint == "select one with --host, --source, --policy or --tag, or name a snapshot by its id")
    // One source from two hosts, seen from a third: one node that moved; the newest in
    // `SnapshotOrder` (across hosts, whatever their clocks), or one host's with --host.
    let policy = SnapshotSelection(filter: SnapshotFilter(policy: "bitcoind"), preferredHost: "new")
    #expect(try policy.latest(all).id == otherHost.id)
    #expect(
        try SnapshotSelection(filter: SnapshotFilter(host: "node1", policy: "bitcoind")).latest(all).id == bitcoind2.id)
    // The reading commands keep their meaning: the newest of all.
    #expect(try SnapshotSelection(refuseAmbiguous: false).latest(all).id == otherHost.id)
}

/// An empty selection names what was asked for; partial snapshots are never `latest`, but a
/// node that has only partial ones still counts as a candidate (its target never gets another
/// node's data).
@Test func anEmptyOrPartialSelectionIsAClearError() throws {
    let none = #expect(throws: VaultError.self) {
        try SnapshotSelection(filter: SnapshotFilter(policy: "solana")).latest(all)
    }
    #expect(none?.code == .unknownSnapshot)
    #expect(none?.message == "the repository has no snapshots (policy solana)")
    let cut = made("2026-12-01T12:00:00Z", "/var/lib/erigon", partial: true)
    let records = SnapshotOrder.sorted([geth, cut])
    let partial = #expect(throws: VaultError.self) {
        try SnapshotSelection(preferredSources: ["/var/lib/erigon"], preferredHost: "node1").latest(records)
    }
    #expect(partial?.message == "the repository has only partial snapshots: some files could not be read completely")
    #expect(throws: VaultError.self) { try SnapshotSelection(preferredHost: "node1").latest(records) }
}
