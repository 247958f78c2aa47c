import VaultCore

/// Bitcoin Core's data directory (all networks): every block's proof of work, merkle root and
/// witness commitment, the undo records' checksums, and the best chain from the genesis block.
public struct BitcoindProfile: ChainProfile {
    public let name = "bitcoind"
    /// Block files are checked in pieces about this large, spread over the cores with the other
    /// files' pieces: a few large files (or the one an incremental run appends to) keep every core
    /// busy. 16 MiB is ~16 mainnet blocks: the per-piece set-up is well under 1 % of its check.
    let pieceSize: UInt64

    public init() { pieceSize = 16 << 20 }

    /// For tests: pieces of another size (0: each file in one piece).
    init(pieceSize: UInt64) { self.pieceSize = pieceSize }

    public func detect(_ source: ChainDataSource) -> Bool { BitcoindLayout.find(source) != nil }

    public func verify(_ source: ChainDataSource, state: inout ChainVerifyState) throws -> ChainReport {
        var report = ChainReport(profile: name)
        guard let layout = BitcoindLayout.find(source) else {
            report.problems.append(
                ChainProblem(.gap, file: "blocks", "no blocks/blk*.dat files: not a Bitcoin Core data directory"))
            return report
        }
        let key = try readKey(source, layout, &report)
        guard let network = try detectNetwork(source, layout, key, &report) else { return report }
        var carried = CarriedState(state, network: network.name, key: key)
        if state.profile != name || !carried.valid { state = ChainVerifyState(profile: name); carried = CarriedState() }
        let active = layout.blk.keys.max()!
        let numbers = Array(Set(layout.blk.keys).union(layout.rev.keys)).sorted()
        let marks = state.files
        let pending = carried.pendingUndo
        let pairs = numbers.map { FilePairChecker(source: source, network: network, key: key, isActive: $0 == active) }
        let plans = try Parallel.map(Array(numbers.indices)) { i in
            try pairs[i].plan(
                blk: layout.blk[numbers[i]], rev: layout.rev[numbers[i]], marks: marks, pieceSize: pieceSize)
        }
        let jobs = plans.indices.flatMap { i in plans[i].pieces.indices.map { (pair: i, piece: $0) } }
        let checked = try Parallel.map(jobs) { try pairs[$0.pair].checkPiece(plans[$0.pair], $0.piece) }
        var pieces = [[BlockRangeChecker.Result]](repeating: [], count: numbers.count)
        for (job, piece) in zip(jobs, checked) { pieces[job.pair].append(piece) }
        let results = try Parallel.map(Array(numbers.indices)) { i in
            try pairs[i].finish(plans[i], pieces: pieces[i], marks: marks, pending: pending[numbers[i]] ?? [])
        }
        var walk = ChainWalk()
        for (hash, prev, bits) in carried.orphans { walk.add(hash, prev: prev, bits: bits) }
        var problemParents: [(Int, Hash32)] = []
        var newPending: [Int: [UndoMatcher.Candidate]] = [:]
        for (n, r) in zip(numbers, results) {
            for b in r.blocks where b.failure == nil && !b.known {
                walk.add(b.summary.hash, prev: b.summary.prev, bits: b.summary.bits)
            }
            for (i, parent) in r.problemParents { problemParents.append((report.problems.count + i, parent)) }
            report.problems += r.problems
            report.bytesChecked += r.bytesChecked
            for (path, mark) in r.marks { state.files[path] = mark }
            if !r.unmatchedUndo.isEmpty { newPending[n] = r.unmatchedUndo }
        }
        let root = carried.tip ?? (hash: network.genesis, height: 0, work: 0)
        if carried.tip == nil && walk.nodes[network.genesis] == nil {
            report.problems.append(
                ChainProblem(
                    .gap, file: layout.directory, blockHash: network.genesis.hex,
                    "the \(network.name) genesis block is not in the block files"))
            return report
        }
        let rootWork = carried.tip == nil ? walk.nodes[network.genesis]!.work : root.work
        let result = walk.walk(root: root.hash, height: root.height, work: rootWork)
        for (index, parent) in problemParents {
            if let h = result.heights[parent] { report.problems[index].height = h + 1 }
        }
        var locations: [Hash32: (String, UInt64)] = [:]
        for r in results { for b in r.blocks { locations[b.summary.hash] = (b.file, b.offset) } }
        report.problems += ChainFindings.unconnected(result, walk: walk, directory: layout.directory) { locations[$0] }
        report.height = result.height
        report.tipHash = result.tip.hex
        var orphans: [(Hash32, Hash32, UInt32)] = []
        for (_, run) in result.unconnected {
            for h in run { orphans.append((h, walk.nodes[h]!.prev, walk.nodes[h]!.bits)) }
        }
        CarriedState.store(
            into: &state, network: network.name, key: key, tip: result, orphans: orphans,
            pendingUndo: newPending)
        report.problems.sort { ($0.file, $0.offset ?? 0) < ($1.file, $1.offset ?? 0) }
        return report
    }

    private func readKey(_ source: ChainDataSource, _ layout: BitcoindLayout, _ report: inout ChainReport) throws
        -> [UInt8]
    {
        guard let xor = layout.xor else { return [] }
        var key = [UInt8](repeating: 0, count: 8)
        let n = try key.withUnsafeMutableBytes { try source.read(xor.path, offset: 0, into: $0) }
        if xor.size != 8 || n != 8 {
            report.problems.append(ChainProblem(.corrupt, file: xor.path, "xor.dat is \(xor.size) bytes, not 8"))
            return []
        }
        return key
    }

    /// The network is the one whose magic starts the first block file.
    private func detectNetwork(
        _ source: ChainDataSource, _ layout: BitcoindLayout, _ key: [UInt8],
        _ report: inout ChainReport
    ) throws -> BitcoinNetwork? {
        let first = layout.blk[layout.blk.keys.min()!]!
        let window = RecordWindow(source: source, path: first.path, size: first.size, key: key)
        guard let magic = try window.bytes(at: 0, count: 4) else {
            report.problems.append(
                ChainProblem(.truncated, file: first.path, offset: 0, "the first block file is empty"))
            return nil
        }
        guard let network = BitcoinNetwork.byMagic(magic.loadUnaligned(as: UInt32.self)) else {
            report.problems.append(
                ChainProblem(
                    .corrupt, file: first.path, offset: 0,
                    "the file starts with \(RecordScanner.hex(magic, 4)), no Bitcoin network's magic"))
            return nil
        }
        return network
    }
}
