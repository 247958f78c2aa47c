/// Checks geth's chain freezer (`<datadir>/geth/chaindata/ancient/chain`): each table's index
/// structure, that all four tables reach the same head, that every item decodes (snappy block,
/// RLP), that `headers[i]` has number i and names `hashes[i-1]` as its parent (a parent link
/// that needs no keccak), and `hashes[i]` = keccak-256(`headers[i]`) when keccak is available.
/// Tables are append-only: `state` keeps per index file how many bytes were verified and their
/// SHA-256, so a later run checks only new items and reports any change before that mark.
public struct FreezerCheck {
    public static let tableNames = ["headers", "hashes", "bodies", "receipts"]
    public let dir: String
    public var problems: [ChainProblem] = []
    public var height: UInt64?
    public var tipHash: EthHash?
    public var bytesRead: UInt64 = 0

    public init(dir: String) { self.dir = dir }

    public mutating func run(_ source: ChainDataSource, state: inout ChainVerifyState) throws {
        let listing = try source.files(in: dir)
        var tables: [String: FreezerTable] = [:]
        for name in Self.tableNames {
            if let t = try FreezerTable.load(name, dir: dir, listing: listing, source: source, problems: &problems) {
                tables[name] = t
                bytesRead += t.indexSize
            } else {
                problems.append(
                    ChainProblem(
                        .corrupt, file: dir + "/" + name + ".cidx",
                        "freezer table \(name) has no index file"))
            }
        }
        guard let headers = tables["headers"], let hashes = tables["hashes"] else { return }
        let head = tables.values.map(\.index.head).min() ?? 0
        for (name, t) in tables.sorted(by: { $0.key < $1.key }) where t.index.head != head {
            let extra = Int(t.index.head - head)
            // Counts come from files: never let them go negative (a damaged index is reported, not a trap).
            let firstExtra = 6 * max(0, t.index.count - extra + 1)
            let kind: ChainProblem.Kind = t.tolerated(indexOffset: firstExtra) ? .info : .gap
            problems.append(
                ChainProblem(
                    kind, file: t.index.indexPath, offset: UInt64(firstExtra), height: head,
                    "freezer table \(name) holds \(t.index.head) items, "
                        + "the shortest table \(head)"))
        }
        var items = FreezerItems(source: source, hashes: hashes)
        for name in Self.tableNames {
            guard let t = tables[name] else { continue }
            let start = startItem(t, state: &state)
            let upper = min(t.index.head, head), lower = min(t.index.tail, head)
            let end = upper > lower ? Int(upper - lower) : 0
            let before = problems.count
            if start < end { try items.check(name, t, from: start, to: end, problems: &problems) }
            let clean = !problems[before...].contains { $0.kind != .info }
            if clean && end >= start {
                let through = 6 * (end + 1)
                let checkpoint = t.checkpoint(through: min(through, t.indexBytes.count))
                state.files[t.index.indexPath] = ChainVerifyState.FileMark(
                    verifiedThrough: UInt64(through),
                    checkpoint: checkpoint)
            }
        }
        if name(headers: headers) && !Keccak256.isAvailable && head > 0 {
            problems.append(ChainProblem(.info, file: hashes.index.indexPath, Keccak256.unavailableReason))
        }
        bytesRead += items.bytesRead
        if head > 0 {
            height = head - 1
            tipHash = try items.hash(head - 1)
        }
    }

    private func name(headers: FreezerTable) -> Bool { headers.index.count > 0 }

    /// The first item (0-based from the tail) still to check: after the verified mark when the
    /// index bytes before it are unchanged; from the start (with a problem) when they changed.
    mutating func startItem(_ t: FreezerTable, state: inout ChainVerifyState) -> Int {
        guard let mark = state.files[t.index.indexPath] else { return 0 }
        let through = Int(mark.verifiedThrough)
        if through <= t.indexBytes.count, through % 6 == 0, t.checkpoint(through: through) == mark.checkpoint {
            return max(0, through / 6 - 1)
        }
        problems.append(
            ChainProblem(
                .corrupt, file: t.index.indexPath, offset: 0,
                "index changed before the verified mark (\(mark.verifiedThrough) bytes): "
                    + "a verified item was rewritten"))
        state.files[t.index.indexPath] = nil
        return 0
    }
}
