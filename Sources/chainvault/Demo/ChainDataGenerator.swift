import Foundation
import Glibc
import VaultChain
import VaultCore

/// The generator's random source: SplitMix64 with the seed spread so that small seeds differ.
typealias DataRandom = SplitMix64

extension SplitMix64 {
    init(dataSeed seed: UInt64) { self.init(seed: seed &* 0x9E37_79B9_7F4A_7C15 | 1) }
}

/// Writes a directory that looks, to a backup tool, like a node's data: a bitcoind `blocks/` with a
/// valid regtest chain (proof of work, merkle roots, witness commitments, undo records with their
/// checksums, obfuscated with `xor.dat`: `chain verify` passes it), a LevelDB chainstate of ~2 MiB high-entropy tables, a geth
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
        try Posix.mkdirs(root + "/data")
        try chainWriter(existing: nil).append(
            baseBlocks, transactions: Self.blockTransactions, payload: Self.blockPayload)
        let tables = max(2, Int(Double(size) * Self.chainstateShare) / Self.ldbSize)
        for i in 0..<tables { try writeTable(number: i + 5, rng: &rng) }
        try writeManifest(tables: Array(5..<(5 + tables)), rng: &rng)
        try write("/blocks/index/CURRENT", Array("MANIFEST-000002\n".utf8))
        try write("/blocks/index/000003.ldb", randomText(64 << 10, &rng))
        var freezer = Freezer(root: root + "/geth/chaindata/ancient/chain")
        try freezer.append(bytes: Int(Double(size) * Self.freezerShare), rng: &rng)
        try write("/config/nodekey", Array(Hex.encode(SecureRandom.bytes(32)).utf8))
        // CometBFT keeps the signing state under data/ (its profile protects data/priv_validator_state.json).
        try write("/data/priv_validator_state.json", Array("{\"height\":\"1000\",\"round\":0,\"step\":3}\n".utf8))
        try write("/bitcoin.conf", Array("server=1\ntxindex=0\ndbcache=4000\n".utf8))
        try write("/debug.log", randomText(256 << 10, &rng))
        try write("/.lock", [])
    }

    /// One day: ~1.5 % new blocks, ~8 % of the chainstate tables rewritten by compaction (new
    /// names, old ones deleted), ~0.5 % appended to the freezer, state files touched.
    func advanceOneDay(day: UInt64 = 1) throws {
        var rng = DataRandom(dataSeed: seed ^ (day &* 0xDA7))
        let height = try BlockFileCount.blocks(in: root + "/blocks", key: Self.xorKey) - 1
        try chainWriter(existing: UInt64(height))
            .append(height + dailyBlocks, transactions: Self.blockTransactions, payload: Self.blockPayload)
        let tables = try DirectoryListing.names(root + "/chainstate").filter { $0.hasSuffix(".ldb") }.sorted()
        let rewrite = max(1, tables.count * 8 / 100)
        var next = (tables.compactMap { Int($0.prefix(6)) }.max() ?? 0) + 1
        for _ in 0..<rewrite {
            let victim = tables[rng.below(tables.count)]
            _ = try? Posix.unlink(root + "/chainstate/" + victim)
            try writeTable(number: next, rng: &rng)
            next += 1
        }
        let live = try DirectoryListing.names(root + "/chainstate").filter { $0.hasSuffix(".ldb") }.compactMap {
            Int($0.prefix(6))
        }
        try writeManifest(tables: live.sorted(), rng: &rng)
        var freezer = Freezer(root: root + "/geth/chaindata/ancient/chain")
        try freezer.append(bytes: Int(Double(size) * 0.005), rng: &rng)
        try write(
            "/data/priv_validator_state.json",
            Array("{\"height\":\"\(1000 + day * 14400)\",\"round\":0,\"step\":3}\n".utf8))
        try append("/debug.log", randomText(64 << 10, &rng))
    }

    /// ~100 KB regtest blocks: 250 transactions of ~330 script bytes.
    static let blockTransactions = 250, blockPayload = 330, blockBytes = 100_000
    static let xorKey: [UInt8] = [0x3c, 0xa1, 0x5e, 0x07, 0xd2, 0x98, 0x41, 0xef]
    var baseBlocks: Int { max(2, Int(Double(size) * Self.blockShare) / Self.blockBytes) }
    /// ~1.5 % of the data a day.
    var dailyBlocks: Int { max(1, Int(Double(size) * 0.015) / Self.blockBytes) }

    /// The same seed builds the same blocks, so blocks up to `existing` are rebuilt, not rewritten.
    private func chainWriter(existing: UInt64?) throws -> RegtestChainWriter {
        try RegtestChainWriter(
            directory: root + "/blocks", key: Self.xorKey, seed: seed,
            maxFileSize: Self.blkFileSize, existingHeight: existing)
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
        let words = [
            "UpdateTip:", "new", "best=", "height=", "version=0x20000000", "log2_work=", "tx=", "date=",
            "progress=1.000000", "cache="
        ]
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
                data += [UInt8](repeating: UInt8(item & 0x7), count: item - item * 3 / 4)  // RLP headers and padding
                offset &+= UInt32(item)
                withUnsafeBytes(of: UInt16(0).littleEndian) { index.append(contentsOf: $0) }
                withUnsafeBytes(of: offset.bigEndian) { index.append(contentsOf: $0) }
            }
            try gen.append("/\(table).0000.cdat", data)
            try gen.append("/\(table).cidx", index)
        }
    }
}
