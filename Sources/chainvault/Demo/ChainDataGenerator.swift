import Foundation
import Glibc
import VaultCore

/// The generator's random source: SplitMix64 with the seed spread so that small seeds differ.
typealias DataRandom = SplitMix64

extension SplitMix64 {
    init(dataSeed seed: UInt64) { self.init(seed: seed &* 0x9E37_79B9_7F4A_7C15 | 1) }
}

/// Writes a directory that looks, to a backup tool, like a node's data: a bitcoind `blocks/` with
/// real block-file records, undo files, a LevelDB chainstate of ~2 MiB high-entropy tables, a geth
/// freezer of append-only tables, and small key and state files. `advanceOneDay` then does what a
/// day of node activity does: append blocks, compact some tables, append to the freezer.
struct ChainDataGenerator {
    let root: String
    let size: Int
    let seed: UInt64

    /// Shares of the total, from the layout of a pruned bitcoind plus a geth freezer.
    static let blockShare = 0.42, undoShare = 0.08, chainstateShare = 0.28, freezerShare = 0.20
    static let blkFileSize = 32 << 20
    static let ldbSize = 2 << 20

    func generate() throws {
        var rng = DataRandom(dataSeed: seed)
        try Posix.mkdirs(root + "/blocks/index")
        try Posix.mkdirs(root + "/chainstate")
        try Posix.mkdirs(root + "/geth/chaindata/ancient/chain")
        try Posix.mkdirs(root + "/config")
        var chain = BlockChainWriter(rng: DataRandom(dataSeed: seed ^ 0xB10C))
        try chain.appendBlocks(to: root + "/blocks", bytes: Int(Double(size) * Self.blockShare), undoRatio: Self.undoShare / Self.blockShare)
        let tables = max(2, Int(Double(size) * Self.chainstateShare) / Self.ldbSize)
        for i in 0..<tables { try writeTable(number: i + 5, rng: &rng) }
        try writeManifest(tables: Array(5..<(5 + tables)), rng: &rng)
        try write("/blocks/index/CURRENT", Array("MANIFEST-000002\n".utf8))
        try write("/blocks/index/000003.ldb", randomText(64 << 10, &rng))
        var freezer = Freezer(root: root + "/geth/chaindata/ancient/chain")
        try freezer.append(bytes: Int(Double(size) * Self.freezerShare), rng: &rng)
        try write("/config/nodekey", Array(Hex.encode(SecureRandom.bytes(32)).utf8))
        try write("/config/priv_validator_state.json", Array("{\"height\":\"1000\",\"round\":0,\"step\":3}\n".utf8))
        try write("/bitcoin.conf", Array("server=1\ntxindex=0\ndbcache=4000\n".utf8))
        try write("/debug.log", randomText(256 << 10, &rng))
        try write("/.lock", [])
    }

    /// One day: ~1.5 % new blocks, ~8 % of the chainstate tables rewritten by compaction (new
    /// names, old ones deleted), ~0.5 % appended to the freezer, state files touched.
    func advanceOneDay(day: UInt64 = 1) throws {
        var rng = DataRandom(dataSeed: seed ^ (day &* 0xDA7))
        var chain = try BlockChainWriter.resume(root + "/blocks", rng: DataRandom(dataSeed: seed ^ day ^ 0xB10C))
        try chain.appendBlocks(to: root + "/blocks", bytes: Int(Double(size) * 0.015), undoRatio: Self.undoShare / Self.blockShare)
        let tables = try DirectoryListing.names(root + "/chainstate").filter { $0.hasSuffix(".ldb") }.sorted()
        let rewrite = max(1, tables.count * 8 / 100)
        var next = (tables.compactMap { Int($0.prefix(6)) }.max() ?? 0) + 1
        for _ in 0..<rewrite {
            let victim = tables[rng.below(tables.count)]
            _ = try? Posix.unlink(root + "/chainstate/" + victim)
            try writeTable(number: next, rng: &rng)
            next += 1
        }
        let live = try DirectoryListing.names(root + "/chainstate").filter { $0.hasSuffix(".ldb") }.compactMap { Int($0.prefix(6)) }
        try writeManifest(tables: live.sorted(), rng: &rng)
        var freezer = Freezer(root: root + "/geth/chaindata/ancient/chain")
        try freezer.append(bytes: Int(Double(size) * 0.005), rng: &rng)
        try write("/config/priv_validator_state.json", Array("{\"height\":\"\(1000 + day * 14400)\",\"round\":0,\"step\":3}\n".utf8))
        try append("/debug.log", randomText(64 << 10, &rng))
    }

    private func writeTable(number: Int, rng: inout DataRandom) throws {
        // LevelDB tables hold snappy-compressed blocks: close to incompressible.
        var bytes: [UInt8] = []
        rng.fill(&bytes, count: Self.ldbSize - 4096 + rng.below(8192))
        try write("/chainstate/" + String(format: "%06d.ldb", number), bytes)
    }

    private func writeManifest(tables: [Int], rng: inout DataRandom) throws {
        var text = "leveldb.BytewiseComparator\n"
        for t in tables { text += "add table \(t)\n" }
        try write("/chainstate/MANIFEST-000001", Array(text.utf8))
        try write("/chainstate/CURRENT", Array("MANIFEST-000001\n".utf8))
        try append("/chainstate/LOG", Array("compaction: \(tables.count) tables\n".utf8))
    }

    func write(_ relative: String, _ bytes: [UInt8]) throws {
        let path = root + relative
        let fd = try Posix.open(path, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
        defer { Posix.close(fd) }
        try bytes.withUnsafeBytes { try Posix.writeAll(fd, $0, path: path) }
    }

    func append(_ relative: String, _ bytes: [UInt8]) throws {
        let path = root + relative
        let fd = try Posix.open(path, O_WRONLY | O_CREAT | O_APPEND, mode: 0o644)
        defer { Posix.close(fd) }
        try bytes.withUnsafeBytes { try Posix.writeAll(fd, $0, path: path) }
    }

    /// Log-like text: compressible, as real debug logs are.
    func randomText(_ count: Int, _ rng: inout DataRandom) -> [UInt8] {
        let words = ["UpdateTip:", "new", "best=", "height=", "version=0x20000000", "log2_work=", "tx=", "date=", "progress=1.000000", "cache="]
        var out: [UInt8] = []
        out.reserveCapacity(count + 64)
        while out.count < count {
            out += Array(words[rng.below(words.count)].utf8)
            out += Array(String(rng.next() % 1_000_000, radix: 16).utf8)
            out.append(rng.below(8) == 0 ? 10 : 32)
        }
        return Array(out.prefix(count))
    }
}

/// Appends Bitcoin block-file records: magic, size, an 80-byte header whose previous-block hash is
/// the double SHA-256 of the previous header, then transactions.
struct BlockChainWriter {
    var rng: DataRandom
    var previousHash = [UInt8](repeating: 0, count: 32)
    var fileNumber = 0
    var height: UInt32 = 0
    static let magic: [UInt8] = [0xF9, 0xBE, 0xB4, 0xD9]

    init(rng: DataRandom) { self.rng = rng }

    /// Continues an existing blocks/ directory: the last record's header gives the chain tip.
    static func resume(_ dir: String, rng: DataRandom) throws -> BlockChainWriter {
        var w = BlockChainWriter(rng: rng)
        let files = try DirectoryListing.names(dir).filter { $0.hasPrefix("blk") }.sorted()
        guard let last = files.last, let n = Int(last.dropFirst(3).prefix(5)) else { return w }
        w.fileNumber = n
        let bytes = try Posix.readFile(dir + "/" + last)
        var offset = 0, lastHeader: ArraySlice<UInt8>?
        while offset + 88 <= bytes.count, Array(bytes[offset..<offset + 4]) == magic {
            let size = bytes.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))) }
            lastHeader = bytes[(offset + 8)..<(offset + 88)]
            offset += 8 + size
            w.height += 1
        }
        if let h = lastHeader { w.previousHash = SHA256.hash(SHA256.hash(Array(h)).bytes).bytes }
        return w
    }

    mutating func appendBlocks(to dir: String, bytes: Int, undoRatio: Double) throws {
        var written = 0
        var blk: [UInt8] = [], rev: [UInt8] = []
        func flush() throws {
            let name = String(format: "%05d.dat", fileNumber)
            let gen = ChainDataGenerator(root: dir, size: 0, seed: 0)
            try gen.append("/blk" + name, blk)
            try gen.append("/rev" + name, rev)
            blk.removeAll(keepingCapacity: true); rev.removeAll(keepingCapacity: true)
        }
        var fileSize = (try? Posix.lstat(dir + String(format: "/blk%05d.dat", fileNumber)))??.st_size ?? 0
        while written < bytes {
            let block = makeBlock(size: 200_000 + rng.below(1_300_000))
            if Int(fileSize) + blk.count + block.count > ChainDataGenerator.blkFileSize {
                try flush()
                fileNumber += 1
                fileSize = 0
            }
            blk += Self.magic
            withUnsafeBytes(of: UInt32(block.count).littleEndian) { blk.append(contentsOf: $0) }
            blk += block
            rng.fill(&rev, count: Int(Double(block.count) * undoRatio))
            written += block.count + 8
        }
        try flush()
    }

    mutating func makeBlock(size: Int) -> [UInt8] {
        var header: [UInt8] = []
        withUnsafeBytes(of: Int32(0x2000_0000).littleEndian) { header.append(contentsOf: $0) }
        header += previousHash
        rng.fill(&header, count: 32)                                 // merkle root
        withUnsafeBytes(of: (UInt32(1_600_000_000) + height * 600).littleEndian) { header.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(0x1703_4219).littleEndian) { header.append(contentsOf: $0) } // bits
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: rng.next()).littleEndian) { header.append(contentsOf: $0) }
        previousHash = SHA256.hash(SHA256.hash(header).bytes).bytes
        height += 1
        var block = header
        block.append(0xFD)                                           // varint tx count
        withUnsafeBytes(of: UInt16(size / 400).littleEndian) { block.append(contentsOf: $0) }
        // Transactions: version, outpoints and signatures are random; scripts and amounts repeat.
        // Real blocks compress ~1.2-1.3x with zstd -3; this mix lands close to that.
        while block.count < size {
            block += [2, 0, 0, 0, 1]
            rng.fill(&block, count: 36 + 72)                         // outpoint + signature
            block += [0xFF, 0xFF, 0xFF, 0xFF, 2]
            for _ in 0..<2 {
                withUnsafeBytes(of: UInt64(rng.below(10) * 100_000).littleEndian) { block.append(contentsOf: $0) }
                block += [25, 0x76, 0xA9, 0x14]                      // P2PKH: OP_DUP OP_HASH160 <20-byte key hash>
                rng.fill(&block, count: 20)
                block += [0x88, 0xAC]
            }
            block += [0, 0, 0, 0]
        }
        return Array(block.prefix(size))
    }
}

/// A geth-style freezer table set: `.cdat` data files, append-only, with `.cidx` offset indexes.
struct Freezer {
    let root: String
    static let tables = ["headers", "bodies", "receipts", "hashes"]
    static let shares = [0.10, 0.55, 0.33, 0.02]

    mutating func append(bytes: Int, rng: inout DataRandom) throws {
        let gen = ChainDataGenerator(root: root, size: 0, seed: 0)
        for (table, share) in zip(Self.tables, Self.shares) {
            var data: [UInt8] = []
            var index: [UInt8] = []
            let target = Int(Double(bytes) * share)
            let existing = (try? Posix.lstat(root + "/\(table).0000.cdat"))??.st_size ?? 0
            var offset = UInt32(truncatingIfNeeded: existing)
            while data.count < target {
                let item = 500 + rng.below(3000)
                rng.fill(&data, count: item * 3 / 4)
                data += [UInt8](repeating: UInt8(item & 0x7), count: item - item * 3 / 4) // RLP headers and padding
                offset &+= UInt32(item)
                withUnsafeBytes(of: UInt16(0).littleEndian) { index.append(contentsOf: $0) }
                withUnsafeBytes(of: offset.bigEndian) { index.append(contentsOf: $0) }
            }
            try gen.append("/\(table).0000.cdat", data)
            try gen.append("/\(table).cidx", index)
        }
    }
}
