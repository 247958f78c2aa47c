/// Checks the block records of one `blkNNNNN.dat` that start in [from, to): a piece of a file, so
/// that the two cores share one large file (an incremental run usually has only the active file's
/// appended part to check). Pieces start at record starts a header-only walk found
/// (`RecordScanner.pieceStarts`); `FilePairChecker` joins their results in file order, exactly as
/// one scan of the whole file would have produced them.
struct BlockRangeChecker {
    struct Result: Sendable {
        var blocks: [ScannedBlock] = []
        /// Bad blocks, in file order; `parents[i]`: the parent of the block of `blockProblems[i]`.
        var blockProblems: [ChainProblem] = []
        var parents: [Int: Hash32] = [:]
        /// Problems that ended the scan before `to` (a bad record; at the end of the file the crash
        /// signature): nothing after them in the file was checked.
        var endProblems: [ChainProblem] = []
        /// Every record start passed, in order (for the mark's restart points).
        var offsets: [UInt64] = []
        var firstBad: UInt64?
        /// The offset after the last complete record: `to` when the piece was checked to its end.
        var end: UInt64 = 0
        var candidates: [UndoMatcher.Candidate] = []
    }

    let source: ChainDataSource
    let network: BitcoinNetwork
    let key: [UInt8]
    let isActive: Bool

    /// `to` nil: to the end of the file. `known`: below it an earlier check walked the blocks;
    /// `allUndo`: every block is an undo candidate (its undo file is checked again from its start).
    func check(_ file: ChainFile, from: UInt64, to: UInt64?, known: UInt64, allUndo: Bool) throws -> Result {
        var result = Result()
        let window = RecordWindow(source: source, path: file.path, size: file.size, key: key, readLimit: to)
        let checker = BlockChecker(network: network)
        let scanner = RecordScanner(
            window: window, magic: network.magic, isActive: isActive,
            maxPayload: 4_000_000, trailer: 0)
        let (end, problems) = try scanner.scan(from: from, to: to) { offset, payload, _ in
            result.offsets.append(offset)
            let (summary, failure) = checker.check(payload)
            guard let summary else {
                result.firstBad = result.firstBad ?? offset
                result.blockProblems.append(
                    ChainProblem(.corrupt, file: file.path, offset: offset, failure ?? "bad block"))
                return
            }
            // Below the old mark a block was walked and its undo matched by an earlier check:
            // it is checked again (its bytes changed) but not counted twice.
            let isKnown = offset < known
            result.blocks.append(
                ScannedBlock(
                    summary: summary, file: file.path, offset: offset,
                    failure: failure, known: isKnown))
            if let failure {
                result.firstBad = result.firstBad ?? offset
                result.parents[result.blockProblems.count] = summary.prev
                result.blockProblems.append(
                    ChainProblem(
                        .corrupt, file: file.path, offset: offset,
                        blockHash: summary.hash.hex, failure))
            }
            // A block that failed keeps its undo record's owner: only the block is reported.
            if summary.hash != network.genesis && (!isKnown || allUndo) {
                result.candidates.append(.init(prev: summary.prev, hash: summary.hash, txCount: summary.txCount))
            }
        }
        result.endProblems = problems
        result.end = end
        return result
    }
}
