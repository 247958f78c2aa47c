import VaultRepository

/// Something stored at a place in a pack that the planner can group (a chunk of a file being
/// restored or rebuilt, a chunk a drill reads).
public protocol PackPlaced {
    var location: BlobLocation { get }
}

/// The one planner of pack reads for restore, in-place rebuild and drill: which chunks one range
/// read fetches.
///
/// With `span` 0 every chunk is read alone (a local disk reads each blob with one pread anyway,
/// and a larger read would only hold more memory). Otherwise chunks of the same pack that lie back
/// to back are merged while the read stays within `span` bytes: a backup's workers fill packs in
/// file order, so a large file's chunks come in runs, and each run costs one round trip instead of
/// one per chunk. Groups come out in the order of their first chunk in `pieces` (deterministic, and
/// a file is written roughly front to back); inside a group chunks are in pack order.
public enum PackRangePlanner {
    /// A network store gets ranges of up to 8 MiB: at ~100 MB/s and a 20-50 ms round trip the
    /// request overhead is then a few percent, and a worker holds at most one such range.
    public static func span(for repository: Repository) -> Int {
        repository.preferredConcurrency > 1 ? 8 << 20 : 0
    }

    public static func plan<P: PackPlaced>(_ pieces: [P], span: Int) -> [[P]] {
        guard span > 0, pieces.count > 1 else { return pieces.map { [$0] } }
        // Pack order: by pack, then offset; ties keep input order (a chunk listed twice is read twice).
        let order = pieces.indices.sorted { a, b in
            let x = pieces[a].location, y = pieces[b].location
            if x.pack != y.pack { return x.pack < y.pack }
            if x.entry.offset != y.entry.offset { return x.entry.offset < y.entry.offset }
            return a < b
        }
        var groups: [(first: Int, members: [Int])] = []
        for i in order {
            let e = pieces[i].location.entry
            if var run = groups.last, let lastIndex = run.members.last {
                let last = pieces[lastIndex].location, first = pieces[run.members[0]].location
                if last.pack == pieces[i].location.pack,
                    last.entry.offset + UInt64(last.entry.storedLength) == e.offset,
                    e.offset + UInt64(e.storedLength) - first.entry.offset <= UInt64(span)
                {
                    run.members.append(i)
                    run.first = min(run.first, i)
                    groups[groups.count - 1] = run
                    continue
                }
            }
            groups.append((i, [i]))
        }
        return groups.sorted { $0.first < $1.first }.map { $0.members.map { pieces[$0] } }
    }
}
