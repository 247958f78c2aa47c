/// Reads and checks the items of freezer tables, keeping one window per table and the hashes
/// table at hand for the parent links.
struct FreezerItems {
    static let maxItem = 64 << 20
    var data: WindowedReader
    var hashReader: WindowedReader
    let hashes: FreezerTable
    var decoded: [UInt8] = []

    init(source: ChainDataSource, hashes: FreezerTable) {
        data = WindowedReader(source: source); hashReader = WindowedReader(source: source); self.hashes = hashes
    }

    var bytesRead: UInt64 { data.bytesRead + hashReader.bytesRead }

    /// `hashes[number]`, or nil when the hashes table does not hold that item.
    mutating func hash(_ number: UInt64) throws -> EthHash? {
        guard number >= hashes.index.tail, number < hashes.index.head else { return nil }
        let loc = hashes.index.location(Int(number - hashes.index.tail))
        guard loc.end >= loc.start, loc.end - loc.start == 32 else { return nil }
        return try hashReader.with(hashes.index.dataPath(loc.file), from: loc.start, to: loc.end) { EthHash($0, at: 0) }
    }

    mutating func check(_ name: String, _ t: FreezerTable, from: Int, to: Int, problems: inout [ChainProblem]) throws {
        for j in from..<to {
            let number = t.index.tail + UInt64(j)
            let loc = t.index.location(j)
            let path = t.index.dataPath(loc.file)
            var failures: [String] = []
            if loc.end < loc.start || Int(loc.end - loc.start) > Self.maxItem {
                failures.append("item size is invalid")
            } else {
                do {
                    var decoded = self.decoded
                    self.decoded = []
                    defer { self.decoded = decoded }
                    let raw: [UInt8]? = try data.with(path, from: loc.start, to: loc.end) { item in
                        if t.index.compressed {
                            try SnappyBlock.decode(item, into: &decoded, limit: Self.maxItem)
                            return nil
                        }
                        return Array(item)
                    }
                    failures = try checkItem(name, raw ?? decoded, number: number)
                } catch let e as GethFormatError {
                    failures.append(e.what)
                }
            }
            guard !failures.isEmpty else { continue }
            // Damage past the meta's flush offset is what a crash leaves; geth truncates it on start.
            let kind: ChainProblem.Kind = t.tolerated(indexOffset: 6 * (j + 1)) ? .info : .corrupt
            let blockHash = name == "hashes" ? nil : try hash(number)?.hex
            for what in failures {
                problems.append(
                    ChainProblem(
                        kind, file: path, offset: loc.start, height: number, blockHash: blockHash,
                        "\(name): " + what))
            }
        }
    }

    /// What is wrong with item `number` of table `name` (decoded bytes), if anything.
    mutating func checkItem(_ name: String, _ bytes: [UInt8], number: UInt64) throws -> [String] {
        switch name {
        case "hashes":
            return bytes.count == 32 ? [] : ["hash is \(bytes.count) bytes, not 32"]
        case "headers":
            var failures: [String] = []
            let fields = try bytes.withUnsafeBytes { try EthHeaderFields(rlp: $0) }
            if fields.number != number { failures.append("header says block \(fields.number)") }
            if number > 0, let parent = try hash(number - 1), parent != fields.parentHash {
                failures.append("parent hash \(fields.parentHash.hex) is not hashes[\(number - 1)] \(parent.hex)")
            }
            if let own = bytes.withUnsafeBytes({ Keccak256.hash($0) }), let stored = try hash(number), own != stored {
                failures.append("keccak-256 of the header is \(own.hex), hashes[\(number)] says \(stored.hex)")
            }
            return failures
        default:
            try bytes.withUnsafeBytes { try RLP.validate($0) }
            return []
        }
    }
}
