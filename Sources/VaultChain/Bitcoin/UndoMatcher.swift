/// Checks the records of `revNNNNN.dat` against the blocks of `blkNNNNN.dat`: Bitcoin Core writes a
/// block's undo data (`WriteBlockUndo`) into the rev file of the same number when it connects the
/// block, followed by SHA256d(parent block hash ‖ CBlockUndo). Undo records follow connection
/// order, which is file order except where blocks arrived out of order, so each record is tried
/// against the next unmatched block first, then against the other unmatched blocks with the
/// same transaction count (a CBlockUndo holds one entry per non-coinbase transaction).
final class UndoMatcher {
    struct Candidate: Sendable {
        var prev: Hash32
        var hash: Hash32
        var txCount: Int
        var matched = false
    }

    private(set) var candidates: [Candidate]
    private var next = 0
    private let sha = DoubleSHA256()
    /// Bounds the fallback search so one bad record costs at most this many hashes of it.
    static let fallbackLimit = 256

    init(candidates: [Candidate]) { self.candidates = candidates }

    /// The block the record belongs to, or nil (with the block it was expected to belong to).
    func match(
        undo: UnsafeRawBufferPointer,
        checksum: UnsafeRawBufferPointer
    ) -> (block: Candidate?, expected: Candidate?) {
        var cursor = ByteCursor(undo)
        guard let entries = try? cursor.count() else { return (nil, nil) }
        let stored = Hash32(checksum, at: 0)
        while next < candidates.count && candidates[next].matched { next += 1 }
        let expected = next < candidates.count ? candidates[next] : nil
        var tried = 0
        func attempt(_ i: Int) -> Bool {
            guard !candidates[i].matched, candidates[i].txCount == entries + 1 else { return false }
            tried += 1
            guard self.checksum(prev: candidates[i].prev, undo) == stored else { return false }
            candidates[i].matched = true
            return true
        }
        if next < candidates.count && attempt(next) { return (candidates[next], expected) }
        for i in 0..<candidates.count where i != next && tried < Self.fallbackLimit {
            if attempt(i) { return (candidates[i], expected) }
        }
        return (nil, expected)
    }

    /// Blocks no undo record matched yet (connected later, stale, or the genesis block).
    var unmatched: [Candidate] { candidates.filter { !$0.matched } }

    private func checksum(prev: Hash32, _ undo: UnsafeRawBufferPointer) -> Hash32 {
        var p = prev
        return withUnsafeBytes(of: &p) { sha.hash($0, undo) }
    }
}
