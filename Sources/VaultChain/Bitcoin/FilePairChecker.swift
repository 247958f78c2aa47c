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
struct FilePairChecker {
    let source: ChainDataSource
    let network: BitcoinNetwork
    let key: [UInt8]
    let isActive: Bool

    /// Bytes before a mark that its checkpoint covers.
    static let checkpointWindow: UInt64 = 4096

    func check(blk: ChainFile?, rev: ChainFile?, marks: [String: ChainVerifyState.FileMark],
               pending: [UndoMatcher.Candidate]) throws -> FilePairResult {
        var result = FilePairResult()
        var candidates = pending
        let blkWindow = blk.map { RecordWindow(source: source, path: $0.path, size: $0.size, key: key) }
        let revWindow = rev.map { RecordWindow(source: source, path: $0.path, size: $0.size, key: key) }
        let revStart = try revWindow.map { try resume($0, marks[$0.path], into: &result) }
        // Undo records re-read below their mark need their blocks as candidates: all of the file.
        let revReread = revStart.map { $0.start < $0.known } ?? false
        if let blkWindow {
            var (start, known) = try resume(blkWindow, marks[blkWindow.path], into: &result)
            if revReread { start = 0 }
            let checker = BlockChecker(network: network)
            let scanner = RecordScanner(window: blkWindow, magic: network.magic, isActive: isActive,
                                        maxPayload: 4_000_000, trailer: 0)
            var starts = RecordStarts(marks[blkWindow.path], below: start)
            // A file's mark never passes a bad record, so every later run reports it again.
            var firstBad: UInt64?
            let (end, problems) = try scanner.scan(from: start) { offset, payload, _ in
                starts.note(offset)
                let (summary, failure) = checker.check(payload)
                guard let summary else {
                    firstBad = firstBad ?? offset
                    result.problems.append(ChainProblem(.corrupt, file: blkWindow.path, offset: offset,
                                                        failure ?? "bad block"))
                    return
                }
                // Below the old mark a block was walked and its undo matched by an earlier check:
                // it is checked again (its bytes changed) but not counted twice.
                let isKnown = offset < known
                result.blocks.append(ScannedBlock(summary: summary, file: blkWindow.path, offset: offset,
                                                  failure: failure, known: isKnown))
                if let failure {
                    firstBad = firstBad ?? offset
                    result.problemParents[result.problems.count] = summary.prev
                    result.problems.append(ChainProblem(.corrupt, file: blkWindow.path, offset: offset,
                                                        blockHash: summary.hash.hex, failure))
                }
                // A block that failed keeps its undo record's owner: only the block is reported.
                if summary.hash != network.genesis && (!isKnown || revReread) {
                    candidates.append(.init(prev: summary.prev, hash: summary.hash, txCount: summary.txCount))
                }
            }
            result.problems += problems
            result.marks[blkWindow.path] = try mark(blkWindow, min(end, firstBad ?? end), starts)
            result.bytesChecked += end - start
        }
        let matcher = UndoMatcher(candidates: candidates)
        if let revWindow, let start = revStart?.start {
            let scanner = RecordScanner(window: revWindow, magic: network.magic, isActive: isActive,
                                        maxPayload: 32 << 20, trailer: 32)
            var starts = RecordStarts(marks[revWindow.path], below: start)
            var firstBad: UInt64?
            let (end, problems) = try scanner.scan(from: start) { offset, undo, checksum in
                starts.note(offset)
                let (block, expected) = matcher.match(undo: undo, checksum: checksum)
                if block != nil { return }
                firstBad = firstBad ?? offset
                if let expected { result.problemParents[result.problems.count] = expected.prev }
                result.problems.append(ChainProblem(
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
    private func resume(_ window: RecordWindow, _ mark: ChainVerifyState.FileMark?,
                        into result: inout FilePairResult) throws -> (start: UInt64, known: UInt64) {
        guard let mark, mark.verifiedThrough > 0 else { return (0, 0) }
        guard mark.verifiedThrough <= window.size else {
            result.problems.append(ChainProblem(.corrupt, file: window.path, offset: window.size,
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
        result.problems.append(ChainProblem(.corrupt, file: window.path, offset: from,
                                            "bytes before offset \(known), verified by an earlier "
                                                + "check, have changed since: the file was rewritten"))
        return (0, 0)
    }

    private func mark(_ window: RecordWindow, _ end: UInt64, _ starts: RecordStarts) throws -> ChainVerifyState.FileMark {
        ChainVerifyState.FileMark(verifiedThrough: end, checkpoint: try checkpoint(window, end),
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
