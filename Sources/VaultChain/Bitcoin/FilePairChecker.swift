import VaultCore

/// One block found in a block file, checked or not.
struct ScannedBlock: Sendable {
    var summary: BlockSummary
    var file: String
    var offset: UInt64
    var failure: String?
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
        if let blk {
            let window = RecordWindow(source: source, path: blk.path, size: blk.size, key: key)
            let start = try resume(window, marks[blk.path], into: &result)
            let checker = BlockChecker(network: network)
            let scanner = RecordScanner(window: window, magic: network.magic, isActive: isActive,
                                        maxPayload: 4_000_000, trailer: 0)
            // A file's mark never passes a bad record, so every later run reports it again.
            var firstBad: UInt64?
            let (end, problems) = try scanner.scan(from: start) { offset, payload, _ in
                let (summary, failure) = checker.check(payload)
                guard let summary else {
                    firstBad = firstBad ?? offset
                    result.problems.append(ChainProblem(.corrupt, file: blk.path, offset: offset, failure ?? "bad block"))
                    return
                }
                result.blocks.append(ScannedBlock(summary: summary, file: blk.path, offset: offset, failure: failure))
                if let failure {
                    firstBad = firstBad ?? offset
                    result.problemParents[result.problems.count] = summary.prev
                    result.problems.append(ChainProblem(.corrupt, file: blk.path, offset: offset,
                                                        blockHash: summary.hash.hex, failure))
                }
                // A block that failed keeps its undo record's owner: only the block is reported.
                if summary.hash != network.genesis {
                    candidates.append(.init(prev: summary.prev, hash: summary.hash, txCount: summary.txCount))
                }
            }
            result.problems += problems
            result.marks[blk.path] = try mark(window, min(end, firstBad ?? end))
            result.bytesChecked += end - start
        }
        let matcher = UndoMatcher(candidates: candidates)
        if let rev {
            let window = RecordWindow(source: source, path: rev.path, size: rev.size, key: key)
            let start = try resume(window, marks[rev.path], into: &result)
            let scanner = RecordScanner(window: window, magic: network.magic, isActive: isActive,
                                        maxPayload: 32 << 20, trailer: 32)
            var firstBad: UInt64?
            let (end, problems) = try scanner.scan(from: start) { offset, undo, checksum in
                let (block, expected) = matcher.match(undo: undo, checksum: checksum)
                if block != nil { return }
                firstBad = firstBad ?? offset
                if let expected { result.problemParents[result.problems.count] = expected.prev }
                result.problems.append(ChainProblem(
                    .corrupt, file: rev.path, offset: offset, blockHash: expected?.hash.hex,
                    "undo checksum matches no block of the same-numbered block file"
                        + (expected.map { _ in " (expected: this block's)" } ?? "")))
            }
            result.problems += problems
            result.marks[rev.path] = try mark(window, min(end, firstBad ?? end))
            result.bytesChecked += end - start
        }
        result.unmatchedUndo = matcher.unmatched
        return result
    }

    /// Where to start in a file: its mark when the bytes before it are unchanged, else 0.
    private func resume(_ window: RecordWindow, _ mark: ChainVerifyState.FileMark?,
                        into result: inout FilePairResult) throws -> UInt64 {
        guard let mark, mark.verifiedThrough > 0 else { return 0 }
        guard mark.verifiedThrough <= window.size else {
            result.problems.append(ChainProblem(.corrupt, file: window.path, offset: window.size,
                                                "the file is shorter (\(window.size) bytes) than the "
                                                    + "\(mark.verifiedThrough) bytes verified before: it was cut"))
            return 0
        }
        if try checkpoint(window, mark.verifiedThrough) == mark.checkpoint { return mark.verifiedThrough }
        let from = mark.verifiedThrough - min(mark.verifiedThrough, Self.checkpointWindow)
        result.problems.append(ChainProblem(.corrupt, file: window.path, offset: from,
                                            "bytes before offset \(mark.verifiedThrough), verified by an earlier "
                                                + "check, have changed since: the file was rewritten"))
        return 0
    }

    private func mark(_ window: RecordWindow, _ end: UInt64) throws -> ChainVerifyState.FileMark {
        ChainVerifyState.FileMark(verifiedThrough: end, checkpoint: try checkpoint(window, end))
    }

    /// SHA-256 of the plain bytes just before `offset`.
    private func checkpoint(_ window: RecordWindow, _ offset: UInt64) throws -> String {
        let n = min(offset, Self.checkpointWindow)
        guard n > 0 else { return "" }
        guard let bytes = try window.bytes(at: offset - n, count: Int(n)) else { return "" }
        return SHA256.hash(bytes).hex
    }
}
