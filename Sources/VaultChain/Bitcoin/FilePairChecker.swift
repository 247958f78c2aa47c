import VaultCore

/// One block found in a block file, checked or not.
struct ScannedBlock: Sendable {
    var summary: BlockSummary
    var file: String
    var offset: UInt64
    var failure: String?
    /// Below the file's old mark: walked by an earlier check, so not added to the walk again.
    var known = false
}

/// What checking one `blkNNNNN.dat` and its `revNNNNN.dat` found (heights are added later, by the
/// chain walk, which needs every file).
struct FilePairResult: Sendable {
    var blocks: [ScannedBlock] = []
    var problems: [ChainProblem] = []
    /// Problems whose height is that of the child of this parent (a failed block, an undo record).
    var problemParents: [Int: Hash32] = [:]
    var marks: [String: ChainVerifyState.FileMark] = [:]
    var unmatchedUndo: [UndoMatcher.Candidate] = []
    var bytesChecked: UInt64 = 0
}

/// Checks one numbered pair of block and undo files from their verified offsets (their marks),
/// and returns new marks. A mark whose checkpoint no longer matches the bytes before it means the
/// file was rewritten below what was verified: that is reported and the file is checked in full.
/// In three steps, so that pieces of one large block file run on several cores: `plan` (where each
/// file starts, the pieces of the block file), `BlockRangeChecker` per piece, then `finish` (the
/// pieces joined in file order, the undo file checked against the blocks).
struct FilePairChecker {
    let source: ChainDataSource
    let network: BitcoinNetwork
    let key: [UInt8]
    let isActive: Bool

    /// Bytes before a mark that its checkpoint covers.
    static let checkpointWindow: UInt64 = 4096

    /// Where the files of a pair start, decided before any block is checked.
    struct Plan: Sendable {
        var blk: ChainFile?
        var rev: ChainFile?
        var blkStart: UInt64 = 0
        var blkKnown: UInt64 = 0
        var revStart: UInt64 = 0
        /// Undo records are read again below their mark: every block is an undo candidate.
        var revReread = false
        /// Found while deciding (a file rewritten or cut below its mark).
        var problems: [ChainProblem] = []
        /// Starts of the block file's pieces, the first at `blkStart`; each runs to the next one's.
        var pieces: [UInt64] = []
    }

    /// `pieceSize`: the block file is split about this far apart when the source's small reads are
    /// cheap (0: one piece).
    func plan(
        blk: ChainFile?, rev: ChainFile?, marks: [String: ChainVerifyState.FileMark],
        pieceSize: UInt64
    ) throws -> Plan {
        var plan = Plan(blk: blk, rev: rev)
        if let rev {
            let window = RecordWindow(
                source: source, path: rev.path, size: rev.size, key: key,
                readSize: Int(Self.checkpointWindow))
            let (start, known) = try resume(window, marks[rev.path], into: &plan.problems)
            plan.revStart = start
            plan.revReread = start < known
        }
        if let blk {
            let window = RecordWindow(
                source: source, path: blk.path, size: blk.size, key: key,
                readSize: Int(Self.checkpointWindow))
            (plan.blkStart, plan.blkKnown) = try resume(window, marks[blk.path], into: &plan.problems)
            if plan.revReread { plan.blkStart = 0 }
            plan.pieces = [plan.blkStart]
            if pieceSize > 0 && source.smallReadsAreCheap {
                let headers = RecordWindow(source: source, path: blk.path, size: blk.size, key: key, readSize: 8)
                plan.pieces = try RecordScanner(
                    window: headers, magic: network.magic, isActive: isActive,
                    maxPayload: 4_000_000, trailer: 0
                )
                .pieceStarts(from: plan.blkStart, spacing: pieceSize)
            }
        }
        return plan
    }

    /// Checks piece `index` of the plan's block file.
    func checkPiece(_ plan: Plan, _ index: Int) throws -> BlockRangeChecker.Result {
        let to = index + 1 < plan.pieces.count ? plan.pieces[index + 1] : nil
        return try BlockRangeChecker(source: source, network: network, key: key, isActive: isActive)
            .check(plan.blk!, from: plan.pieces[index], to: to, known: plan.blkKnown, allUndo: plan.revReread)
    }

    /// Joins the pieces in file order (as one scan of the whole file: a piece that ended before
    /// the next one's start ends the file there), then checks the undo file against the blocks.
    func finish(
        _ plan: Plan, pieces: [BlockRangeChecker.Result], marks: [String: ChainVerifyState.FileMark],
        pending: [UndoMatcher.Candidate]
    ) throws -> FilePairResult {
        var result = FilePairResult()
        result.problems = plan.problems
        var candidates = pending
        if let blk = plan.blk {
            var starts = RecordStarts(marks[blk.path], below: plan.blkStart)
            // A file's mark never passes a bad record, so every later run reports it again.
            var firstBad: UInt64?
            var end = plan.blkStart
            for (i, piece) in pieces.enumerated() {
                for offset in piece.offsets { starts.note(offset) }
                result.blocks += piece.blocks
                for (k, parent) in piece.parents { result.problemParents[result.problems.count + k] = parent }
                result.problems += piece.blockProblems + piece.endProblems
                firstBad = firstBad ?? piece.firstBad
                candidates += piece.candidates
                end = piece.end
                if i + 1 < plan.pieces.count && piece.end != plan.pieces[i + 1] { break }
            }
            let window = RecordWindow(
                source: source, path: blk.path, size: blk.size, key: key,
                readSize: Int(Self.checkpointWindow))
            result.marks[blk.path] = try mark(window, min(end, firstBad ?? end), starts)
            result.bytesChecked += end - plan.blkStart
        }
        let matcher = UndoMatcher(candidates: candidates)
        if let rev = plan.rev {
            let revWindow = RecordWindow(source: source, path: rev.path, size: rev.size, key: key)
            let start = plan.revStart
            let scanner = RecordScanner(
                window: revWindow, magic: network.magic, isActive: isActive,
                maxPayload: 32 << 20, trailer: 32)
            var starts = RecordStarts(marks[revWindow.path], below: start)
            var firstBad: UInt64?
            let (end, problems) = try scanner.scan(from: start) { offset, undo, checksum in
                starts.note(offset)
                let (block, expected) = matcher.match(undo: undo, checksum: checksum)
                if block != nil { return }
                firstBad = firstBad ?? offset
                if let expected { result.problemParents[result.problems.count] = expected.prev }
                result.problems.append(
                    ChainProblem(
                        .corrupt, file: revWindow.path, offset: offset, blockHash: expected?.hash.hex,
                        "undo checksum matches no block of the same-numbered block file"
                            + (expected.map { _ in " (expected: this block's)" } ?? "")))
            }
            result.problems += problems
            result.marks[revWindow.path] = try mark(revWindow, min(end, firstBad ?? end), starts)
            result.bytesChecked += end - start
        }
        result.unmatchedUndo = matcher.unmatched
        return result
    }

    /// Where to start in a file, and `known`: the offset below which an earlier check verified it.
    /// When the source proves how much of the file is unchanged (chunk ids), the check restarts at
    /// the last record start at or below that; otherwise at the mark when the checkpoint bytes
    /// before it are unchanged, else at 0 with the rewrite reported.
    private func resume(
        _ window: RecordWindow, _ mark: ChainVerifyState.FileMark?,
        into problems: inout [ChainProblem]
    ) throws -> (start: UInt64, known: UInt64) {
        guard let mark, mark.verifiedThrough > 0 else { return (0, 0) }
        guard mark.verifiedThrough <= window.size else {
            problems.append(
                ChainProblem(
                    .corrupt, file: window.path, offset: window.size,
                    "the file is shorter (\(window.size) bytes) than the "
                        + "\(mark.verifiedThrough) bytes verified before: it was cut"))
            return (0, 0)
        }
        let known = mark.verifiedThrough
        if let proven = source.unchangedPrefix(window.path) {
            if proven >= known { return (known, known) }
            return ((mark.recordStarts ?? []).last { $0 <= proven } ?? 0, known)
        }
        if try checkpoint(window, known) == mark.checkpoint { return (known, known) }
        let from = known - min(known, Self.checkpointWindow)
        problems.append(
            ChainProblem(
                .corrupt, file: window.path, offset: from,
                "bytes before offset \(known), verified by an earlier "
                    + "check, have changed since: the file was rewritten"))
        return (0, 0)
    }

    private func mark(_ window: RecordWindow, _ end: UInt64, _ starts: RecordStarts) throws -> ChainVerifyState.FileMark
    {
        ChainVerifyState.FileMark(
            verifiedThrough: end, checkpoint: try checkpoint(window, end),
            recordStarts: starts.offsets.filter { $0 <= end })
    }

    /// SHA-256 of the plain bytes just before `offset`.
    private func checkpoint(_ window: RecordWindow, _ offset: UInt64) throws -> String {
        let n = min(offset, Self.checkpointWindow)
        guard n > 0 else { return "" }
        guard let bytes = try window.bytes(at: offset - n, count: Int(n)) else { return "" }
        return SHA256.hash(bytes).hex
    }
}

/// The record starts a file's mark keeps (`ChainVerifyState.recordStartSpacing` apart): those of
/// the old mark below where this run started, then the ones this run passes.
struct RecordStarts {
    private(set) var offsets: [UInt64]

    init(_ mark: ChainVerifyState.FileMark?, below start: UInt64) {
        offsets = (mark?.recordStarts ?? []).filter { $0 < start }
    }

    mutating func note(_ offset: UInt64) {
        if offset >= (offsets.last ?? 0) + ChainVerifyState.recordStartSpacing { offsets.append(offset) }
    }
}
