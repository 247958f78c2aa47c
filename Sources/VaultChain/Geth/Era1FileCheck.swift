/// What one era1 file says about its blocks, and what was wrong inside it. The accumulator and
/// the links to neighbouring files are checked by `Era1ChainCheck`, which sees all files: the
/// last block's hash is only known from the next file's first parent hash (or from keccak).
public struct Era1FileSummary {
    public var path: String
    public var start: UInt64 = 0
    /// `parents[k]` = parent hash of block start+k, which is the hash of block start+k-1.
    public var parents: [EthHash] = []
    public var difficulties: [UInt256] = []
    /// keccak-256 of the last header, when keccak is available.
    public var lastHash: EthHash?
    public var storedRoot: EthHash?
    public var accumulatorOffset: UInt64?
    public var problems: [ChainProblem] = []
    /// True when every block was read and numbered in order (the accumulator can be recomputed).
    public var complete = false
    /// True when the index was readable, so `start` and the block count are known.
    public var indexed = false
    public var bytesRead: UInt64 = 0

    /// The hash of block `start + k`, where this file alone knows it.
    public func hash(ofBlock k: Int) -> EthHash? {
        k + 1 < parents.count ? parents[k + 1] : (k == parents.count - 1 ? lastHash : nil)
    }
}

/// Checks one era1 file: its e2store structure, the block index, every snappy chunk's CRC, each
/// header's RLP and number, the bodies' and receipts' RLP, and the total difficulty arithmetic.
public struct Era1FileCheck {
    /// Decoded-size cap for one header, body or receipts entry.
    static let maxDecoded = 128 << 20

    var reader: E2StoreReader
    var frame = SnappyFrameDecoder()
    var summary: Era1FileSummary

    public init(source: ChainDataSource, file: ChainFile) {
        reader = E2StoreReader(source: source, path: file.path, size: file.size)
        summary = Era1FileSummary(path: file.path)
    }

    /// `previous` is the number and total difficulty of the last block of the previous file, when
    /// known; it applies only if this file continues it. Block 0's predecessor has total difficulty 0.
    public mutating func run(previous: (number: UInt64, totalDifficulty: UInt256)?) throws -> Era1FileSummary {
        defer { summary.bytesRead = reader.bytesRead }
        let layout: Era1Layout
        do {
            let version = try reader.header(at: 0)
            guard version.type == Era1Type.version, version.length == 0 else {
                throw GethFormatError(0, "era1 file does not start with a version entry")
            }
            layout = try Era1Layout.read(&reader)
        } catch let e as GethFormatError {
            problem(.corrupt, e, nil, nil); return summary
        }
        summary.start = layout.start
        summary.indexed = true
        summary.storedRoot = layout.storedRoot
        summary.accumulatorOffset = layout.accumulatorOffset
        var previousTD =
            layout.start == 0
            ? UInt256.zero
            : previous.flatMap { $0.number &+ 1 == layout.start ? $0.totalDifficulty : nil }
        var lastHeader: [UInt8] = []
        var ordered = true
        for k in 0..<layout.count {
            let height = layout.start + UInt64(k)
            let end = k + 1 < layout.count ? layout.offsets[k + 1] : layout.accumulatorOffset
            do {
                let block = try readBlock(
                    at: layout.offsets[k], end: end, height: height,
                    isLast: k + 1 == layout.count)
                if block.number != height {
                    ordered = false
                    let what = "header says block \(block.number), the index says \(height)"
                    problem(.corrupt, GethFormatError(Int(layout.offsets[k]), what), height, nil)
                }
                if let prev = previousTD {
                    if prev.adding(block.difficulty) != block.total {
                        let what =
                            "total difficulty \(block.total) is not the previous \(prev) "
                            + "plus the header's difficulty \(block.difficulty)"
                        problem(.corrupt, GethFormatError(Int(block.tdOffset), what), height, nil)
                    }
                }
                if height == 0, block.parent != .zero {
                    let what = "genesis header has a non-zero parent hash"
                    problem(.corrupt, GethFormatError(Int(layout.offsets[k]), what), height, nil)
                }
                previousTD = block.total
                summary.parents.append(block.parent)
                summary.difficulties.append(block.total)
                if k + 1 == layout.count { lastHeader = block.headerRLP }
            } catch let e as GethFormatError {
                ordered = false
                problem(.corrupt, e, height, nil)
                previousTD = nil
                summary.parents.append(.zero); summary.difficulties.append(.zero)
            }
        }
        summary.complete = ordered && summary.problems.isEmpty
        if Keccak256.isAvailable { summary.lastHash = lastHeader.withUnsafeBytes { Keccak256.hash($0) } }
        // Block hashes from the parents are known now: name them in the problems where possible.
        for i in summary.problems.indices {
            if let h = summary.problems[i].height, h >= layout.start,
                let hash = summary.hash(ofBlock: Int(h - layout.start))
            {
                summary.problems[i].blockHash = hash.hex
            }
        }
        return summary
    }

    struct Block {
        var number: UInt64, parent: EthHash, difficulty: UInt256, total: UInt256, tdOffset: UInt64
        var headerRLP: [UInt8]
    }

    /// Reads the tuple at `offset`, which must end exactly at `end` (the next block or the accumulator;
    /// other entries may sit only after the last block).
    mutating func readBlock(at offset: UInt64, end: UInt64, height: UInt64, isLast: Bool) throws -> Block {
        let h = try reader.header(at: offset)
        guard h.type == Era1Type.header else {
            throw GethFormatError(Int(offset), "expected a compressed header entry, found type \(h.type)")
        }
        var fields: EthHeaderFields?
        var headerRLP: [UInt8] = []
        try decodeFramed(h) { rlp in
            fields = try EthHeaderFields(rlp: rlp)
            if isLast || Keccak256.isAvailable { headerRLP = Array(rlp) }
        }
        let body = try reader.header(at: h.end)
        guard body.type == Era1Type.body else {
            throw GethFormatError(Int(body.offset), "expected a compressed body entry, found type \(body.type)")
        }
        try decodeFramed(body) { try RLP.validate($0) }
        let receipts = try reader.header(at: body.end)
        guard receipts.type == Era1Type.receipts else {
            let what = "expected a compressed receipts entry, found type \(receipts.type)"
            throw GethFormatError(Int(receipts.offset), what)
        }
        try decodeFramed(receipts) { try RLP.validate($0) }
        let td = try reader.header(at: receipts.end)
        guard td.type == Era1Type.totalDifficulty, td.length == 32 else {
            throw GethFormatError(Int(td.offset), "expected a 32-byte total difficulty entry")
        }
        let total = try reader.withValue(td) { UInt256(littleEndian: $0) }
        guard isLast ? td.end <= end : td.end == end else {
            throw GethFormatError(Int(td.end), "block entries do not end where the index puts the next block")
        }
        guard let f = fields else { throw GethFormatError(Int(offset), "header missing") }
        return Block(
            number: f.number, parent: f.parentHash, difficulty: f.difficulty, total: total,
            tdOffset: td.offset,
            headerRLP: headerRLP)
    }

    /// Decodes a snappy-framed entry value; format errors get the file offset of the damaged chunk.
    mutating func decodeFramed(_ h: E2StoreReader.Header, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        // Moved out and back so the reused buffer has one owner (a copy would clone it on write).
        var frame = self.frame
        self.frame = SnappyFrameDecoder()
        defer { self.frame = frame }
        try reader.withValue(h) { value in
            do { try frame.decode(value, limit: Self.maxDecoded) } catch let e as GethFormatError {
                throw GethFormatError(Int(h.offset) + 8 + e.offset, e.what)
            }
        }
        do { try frame.withDecoded(body) } catch let e as GethFormatError {
            throw GethFormatError(Int(h.offset), "decoded entry: \(e.what) (at decoded byte \(e.offset))")
        }
    }

    mutating func problem(_ kind: ChainProblem.Kind, _ e: GethFormatError, _ height: UInt64?, _ hash: EthHash?) {
        summary.problems.append(
            ChainProblem(
                kind, file: summary.path, offset: UInt64(max(0, e.offset)), height: height,
                blockHash: hash?.hex, e.what))
    }
}
