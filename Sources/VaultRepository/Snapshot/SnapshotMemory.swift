import Foundation
import VaultCore

/// What one client (a CLI state directory, a daemon's state directory) remembers of one
/// repository's snapshots, to notice a repository that went backwards (FORMAT.md §8, "Rollback
/// detection"): per group (host, source, policy) the newest snapshot it saw, every snapshot id it
/// saw, and the ids it saw go. Kept in `<state>/snapshots-seen/<repository id>.json`.
public struct SnapshotMemory: Codable, Sendable, Equatable {
    public struct Newest: Codable, Sendable, Equatable { public var id: SnapshotID; @RFC3339Time public var time: Date }
    public var newest: [String: Newest] = [:]
    public var seen: [SnapshotID] = []
    public var gone: [SnapshotID] = []

    /// Bounds the file: a repository keeps far fewer snapshots than this.
    static let maxIDs = 20_000

    public init() {}

    /// Files written before ids were typed may list a storage name that is no snapshot id (a stray
    /// file in `snapshots/`): such a name can never be a snapshot, so it is dropped, not an error.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        newest = try c.decodeIfPresent([String: Newest].self, forKey: .newest) ?? [:]
        seen = (try c.decodeIfPresent([String].self, forKey: .seen) ?? []).compactMap(SnapshotID.init(hex:))
        gone = (try c.decodeIfPresent([String].self, forKey: .gone) ?? []).compactMap(SnapshotID.init(hex:))
    }

    static func group(_ s: Snapshot) -> String { [s.hostname, s.source, s.policy ?? ""].joined(separator: "\u{0}") }
    static func describe(_ group: String) -> String {
        let p = group.split(separator: "\u{0}", omittingEmptySubsequences: false).map(String.init)
        return "host \(p[0]), source \(p[1])" + (p.count > 2 && !p[2].isEmpty ? ", policy \(p[2])" : "")
    }

    /// What went backwards between this memory and `current` (the repository's readable snapshots
    /// now, oldest first); `listed` is every name the listing holds, damaged ones included (damage
    /// is verify's to report, not a rollback).
    /// A remembered group's newest snapshot may go only when a newer snapshot of that group (which
    /// only a key holder can write) is there: retention by any client forgets older snapshots and
    /// keeps the newest. A snapshot this client saw go must never come back.
    public func rollbacks(_ current: [SnapshotRecord], listed: Set<SnapshotID>) -> [String] {
        var problems: [String] = []
        let ids = listed.union(current.map(\.id))
        var newestNow: [String: SnapshotRecord] = [:]
        for r in current { newestNow[Self.group(r.snapshot)] = r }  // `current` is oldest first
        for (group, seen) in newest.sorted(by: { $0.key < $1.key }) where !ids.contains(seen.id) {
            if let now = newestNow[group], now.snapshot.time > seen.time { continue }
            problems.append(
                "snapshot \(seen.id.shortHex) (\(Self.describe(group)), \(Timestamp.format(seen.time))) is gone and "
                    + "no newer snapshot of that source replaced it"
                    + (newestNow[group].map {
                        "; the newest there now is \($0.shortID) of \(Timestamp.format($0.snapshot.time))"
                    } ?? ""))
        }
        let goneSet = Set(gone)
        for r in current where goneSet.contains(r.id) {
            problems.append(
                "snapshot \(r.shortID) (\(Self.describe(Self.group(r.snapshot))), \(Timestamp.format(r.snapshot.time))) was removed "
                    + "and is back: an old snapshot replayed")
        }
        return problems
    }

    /// The memory after seeing `current`: every group's newest, every id seen, and what went.
    public func updated(_ current: [SnapshotRecord], listed: Set<SnapshotID>) -> SnapshotMemory {
        var next = self
        let ids = listed.union(current.map(\.id))
        for r in current {
            let g = Self.group(r.snapshot)
            if let old = next.newest[g], ids.contains(old.id), old.time > r.snapshot.time { continue }
            next.newest[g] = Newest(id: r.id, time: r.snapshot.time)
        }
        var goneSet = Set(gone)
        for id in seen where !ids.contains(id) { goneSet.insert(id) }
        for id in ids { goneSet.remove(id) }  // accepted after review: no longer "gone"
        next.gone = Array(goneSet.sorted().suffix(Self.maxIDs))
        next.seen = Array(ids.sorted().suffix(Self.maxIDs))
        return next
    }

    /// The memory after this client forgot `removed`: they are gone (and must never come back),
    /// and a group whose newest this client removed remembers the newest of `remaining` instead.
    /// Nothing else changes, so a rollback that happened before the forget is still reported.
    public func forgetting(_ removed: [SnapshotRecord], remaining: [SnapshotRecord]) -> SnapshotMemory {
        var next = self
        let removedIDs = Set(removed.map(\.id))
        for (group, seen) in newest where removedIDs.contains(seen.id) {
            next.newest[group] = remaining.last { Self.group($0.snapshot) == group }.map {
                Newest(id: $0.id, time: $0.snapshot.time)
            }
        }
        next.gone = Array(Set(gone).union(removedIDs).sorted().suffix(Self.maxIDs))
        next.seen = seen.filter { !removedIDs.contains($0) }
        return next
    }

    public static func path(stateDirectory: String, repositoryID: String) -> String {
        stateDirectory + "/snapshots-seen/" + repositoryID + ".json"
    }

    public static func load(_ path: String) throws -> SnapshotMemory {
        guard let bytes = try? Posix.readFile(path) else { return SnapshotMemory() }
        do { return try JSONDecoder().decode(SnapshotMemory.self, from: Data(bytes)) } catch {
            throw VaultError(
                .corrupt, "the snapshot memory \(path) is not valid", cause: error,
                hint:
                    "move it aside; the next verify starts remembering again (and cannot detect a rollback before that)"
            )
        }
    }

    public func save(_ path: String) throws {
        try Posix.mkdirs(Path.parent(path), mode: 0o700)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try Array(try encoder.encode(self)).withUnsafeBytes { try Posix.writeFileAtomically(path, $0, mode: 0o600) }
    }
}
