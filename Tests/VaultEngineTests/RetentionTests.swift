import Foundation
import Testing
import VaultCore
import VaultEngine
import VaultRepository

func record(_ time: String, source: String = "/data", host: String = "h") -> SnapshotRecord {
    SnapshotRecord(
        id: SnapshotID(SHA256.hash(time + source + host)),
        snapshot: Snapshot(
            time: Timestamp.parse(time)!, tree: .zero, source: source, hostname: host, username: "u", tags: [],
            parent: nil, policy: nil, excludes: [], stats: .init()))
}

/// One snapshot every 6 hours for 40 days, newest last.
let sixHourly: [SnapshotRecord] = (0..<160).map { i in
    record(Timestamp.format(Date(timeIntervalSince1970: 1_790_000_000 + Double(i) * 6 * 3600)))
}

struct RetentionCase: CustomTestStringConvertible, Sendable {
    let label: String
    let policy: RetentionPolicy
    let kept: Int
    var testDescription: String { label }
}

func policy(_ f: (inout RetentionPolicy) -> Void) -> RetentionPolicy { var p = RetentionPolicy(); f(&p); return p }

@Test(arguments: [
    RetentionCase(label: "last 5", policy: policy { $0.keepLast = 5 }, kept: 5),
    RetentionCase(label: "daily 7", policy: policy { $0.keepDaily = 7 }, kept: 7),
    RetentionCase(
        label: "daily 7 + last 2 overlap",
        policy: policy {
            $0.keepDaily = 7; $0.keepLast = 2
        }, kept: 8),
    RetentionCase(label: "weekly 3", policy: policy { $0.keepWeekly = 3 }, kept: 3),
    RetentionCase(label: "within 2d", policy: policy { $0.keepWithinSeconds = 2 * 86400 }, kept: 9),
    RetentionCase(label: "hourly 1000 keeps all", policy: policy { $0.keepHourly = 1000 }, kept: 160)
])
func retentionKeepsTheExpectedSnapshots(_ c: RetentionCase) {
    let (keep, remove) = c.policy.apply(sixHourly)
    #expect(keep.count == c.kept)
    #expect(keep.count + remove.count == sixHourly.count)
    #expect(keep.contains { $0.0.id == sixHourly.last!.id }, "the newest snapshot is always kept")
}

@Test func retentionJudgesEachSourceAndHostOnItsOwn() {
    let mixed = [
        record("2026-01-01T00:00:00Z", source: "/a"), record("2026-01-02T00:00:00Z", source: "/a"),
        record("2026-01-01T00:00:00Z", source: "/b"), record("2026-01-01T00:00:00Z", source: "/a", host: "other")
    ]
    let (keep, remove) = policy { $0.keepLast = 1 }.apply(mixed)
    #expect(keep.count == 3 && remove.count == 1)
}

@Test func anEmptyPolicyIsEmpty() {
    #expect(RetentionPolicy().isEmpty)
    #expect(!policy { $0.keepMonthly = 1 }.isEmpty)
}

@Test(arguments: [
    ("LOCK", "chaindata/LOCK", "LOCK", true),
    ("*.log", "debug.log", "debug.log", true),
    ("*.log", "logs/x.log", "x.log", true),
    ("*.log", "blk00001.dat", "blk00001.dat", false),
    ("chaindata/ancient/*.tmp", "chaindata/ancient/a.tmp", "a.tmp", true),
    ("chaindata/ancient/*.tmp", "other/ancient/a.tmp", "a.tmp", false),
    ("/.cookie", ".cookie", ".cookie", true),
    ("tmp/", "tmp", "tmp", true)
])
func excludeGlobs(_ pattern: String, _ path: String, _ name: String, _ excluded: Bool) {
    #expect(PathPatterns([pattern]).matches(relativePath: path, name: name) == excluded)
}

/// Every pack falls in exactly one read-data group, and with many groups they are all used, so a
/// rolling verify reads everything within its window.
@Test(arguments: [1, 7, 30, 1000, 17_280])
func readDataGroupsCoverEveryPackOnce(_ count: Int) {
    let packs = (0..<20_000).map { SHA256.hash("pack \($0)").hex }
    var seen = [Int](repeating: 0, count: count + 1)
    for p in packs {
        let g = Checker.group(of: p, count: count)
        #expect((1...count).contains(g))
        seen[g] += 1
    }
    let used = seen.dropFirst().filter { $0 > 0 }.count
    #expect(used >= min(count, 20_000) * 6 / 10, "only \(used) of \(count) groups hold packs")
}
