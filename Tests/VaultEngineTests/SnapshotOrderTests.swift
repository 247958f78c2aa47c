import Foundation
import Testing
import VaultCore
import VaultEngine
import VaultRepository

private func seeing(_ r: SnapshotRecord, _ seen: SnapshotRecord?, partial: Bool = false) -> SnapshotRecord {
    var s = r.snapshot
    s.newestSeen = seen?.id
    if partial { s.partial = true; s.incomplete = ["blocks/blk00000.dat"] }
    return SnapshotRecord(id: r.id, snapshot: s)
}

/// A host whose clock runs 10 minutes fast backs up first; a correct host backs up later and saw
/// it: the later one is newer, whatever the times say. Time still orders snapshots that did not
/// see each other.
@Test func aFastClockCannotMakeOldDataLatest() {
    let fast = record("2026-12-01T10:10:00Z", host: "fast")  // really made at 10:00
    let correct = seeing(record("2026-12-01T10:05:00Z", host: "ok"), fast)
    let unrelated = record("2026-12-01T09:00:00Z", host: "other")
    #expect(SnapshotOrder.sorted([correct, fast, unrelated]).map(\.id) == [unrelated, fast, correct].map(\.id))
    // Without the field (old snapshots) time decides, as before.
    #expect(SnapshotOrder.sorted([record("2026-12-01T10:05:00Z"), fast]).last?.id == fast.id)
}

/// Partial snapshots never count as kept backups: the last complete one survives `keep-last 1`
/// however many partial ones came after it; a partial one older than a complete one goes.
@Test func retentionNeverDropsTheLastCompleteSnapshotForPartialOnes() {
    let complete = record("2026-12-01T08:00:00Z")
    let older = seeing(record("2026-12-01T07:00:00Z"), nil, partial: true)
    let p1 = seeing(record("2026-12-01T09:00:00Z"), complete, partial: true)
    let p2 = seeing(record("2026-12-01T10:00:00Z"), p1, partial: true)
    var policy = RetentionPolicy()
    policy.keepLast = 1
    let decision = policy.apply([older, complete, p1, p2])
    #expect(Set(decision.keep.map(\.0.id)) == Set([complete.id, p1.id, p2.id]))
    #expect(decision.remove.map(\.id) == [older.id])
}
