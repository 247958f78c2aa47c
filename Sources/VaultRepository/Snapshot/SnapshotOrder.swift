/// The order of snapshots, oldest first (FORMAT.md §8). A snapshot is newer than its parent and
/// than the `newestSeen` it recorded when it started, whatever the clocks of the hosts said: one
/// host whose clock runs fast cannot make old data `latest`. Time (then the id) only orders
/// snapshots that neither saw.
public enum SnapshotOrder {
    public static func sorted(_ records: [SnapshotRecord]) -> [SnapshotRecord] {
        let byTime = records.sorted { ($0.snapshot.time, $0.id) < ($1.snapshot.time, $1.id) }
        let position = Dictionary(byTime.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        // Edges from each snapshot to those that must come after it.
        var later = [[Int]](repeating: [], count: byTime.count)
        var waiting = [Int](repeating: 0, count: byTime.count)
        for (i, r) in byTime.enumerated() {
            let before = Set([r.snapshot.parent, r.snapshot.newestSeen].compactMap { $0 }.compactMap { position[$0] })
            for b in before where b != i { later[b].append(i); waiting[i] += 1 }
        }
        // Kahn's algorithm, always taking the ready snapshot earliest in time: `ready` is kept
        // sorted by position in `byTime`, largest first, so the next one is popped from the end.
        var ready = (0..<byTime.count).filter { waiting[$0] == 0 }.reversed().map { $0 }
        var out: [SnapshotRecord] = []
        out.reserveCapacity(byTime.count)
        var placed = [Bool](repeating: false, count: byTime.count)
        while let i = ready.popLast() {
            out.append(byTime[i]); placed[i] = true
            for j in later[i] {
                waiting[j] -= 1
                if waiting[j] == 0 {
                    let at = ready.firstIndex { $0 < j } ?? ready.endIndex
                    ready.insert(j, at: at)
                }
            }
        }
        // Ids are content hashes, so no cycle can exist; a forged one still loses no snapshot.
        for (i, r) in byTime.enumerated() where !placed[i] { out.append(r) }
        return out
    }
}
