import Foundation
import Testing
@testable import VaultChain

/// Writes freezer tables as geth lays them out (index of 6-byte big-endian entries, numbered data
/// files, snappy-compressed `.cidx` tables, raw `.ridx`), with data files capped small so that
/// items cross file boundaries.
struct FreezerTestWriter {
    static let dir = "geth/chaindata/ancient/chain"
    var maxFileSize = 200_000

    /// A snappy block of literals only: valid snappy, what a minimal encoder may emit.
    static func snappyLiterals(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var n = UInt32(data.count)
        repeat { out.append(UInt8(n & 0x7f) | (n >= 0x80 ? 0x80 : 0)); n >>= 7 } while n > 0
        var i = 0
        while i < data.count {
            let piece = min(65_536, data.count - i)
            let l = piece - 1
            if l < 60 { out.append(UInt8(l << 2)) } else { out += [61 << 2, UInt8(l & 0xff), UInt8(l >> 8)] }
            out += data[i..<i + piece]
            i += piece
        }
        return out
    }

    func write(_ name: String, items: [[UInt8]], compressed: Bool, into d: TempDir, meta: [UInt8]? = nil) throws {
        var index: [UInt8] = [0, 0, 0, 0, 0, 0]
        var file: UInt16 = 0
        var current: [UInt8] = []
        let ext = compressed ? "cdat" : "rdat"
        func flush() throws {
            try d.write(Self.dir + "/" + name + "." + String(format: "%04d", file) + "." + ext, current)
        }
        for item in items {
            let bytes = compressed ? Self.snappyLiterals(item) : item
            if !current.isEmpty, current.count + bytes.count > maxFileSize { try flush(); file += 1; current = [] }
            current += bytes
            index += [UInt8(file >> 8), UInt8(file & 0xff)]
            withUnsafeBytes(of: UInt32(current.count).bigEndian) { index += $0 }
        }
        try flush()
        try d.write(Self.dir + "/" + name + (compressed ? ".cidx" : ".ridx"), index)
        try d.write(Self.dir + "/" + name + ".meta", meta ?? [0xc2, 0x01, 0x80])
    }

    /// The four tables for blocks 0..<count of the Sepolia fixture.
    static func chain(_ count: Int, into d: TempDir) throws -> [[[UInt8]]] {
        let all = try Era1TestWriter.blocks(of: try ChainFixtures.bytes(ChainFixtures.era1Name))
        let blocks = Array(all.prefix(count + 1))
        let headers = try blocks.map { try Era1TestWriter.unframe($0.header) }
        // hashes[i] is block i's hash: the parent hash named by header i+1.
        let hashes = try headers.dropFirst().map { h in
            try h.withUnsafeBytes { try EthHeaderFields(rlp: $0).parentHash.bytes }
        }
        let bodies = try blocks.prefix(count).map { try Era1TestWriter.unframe($0.body) }
        let receipts = try blocks.prefix(count).map { try Era1TestWriter.unframe($0.receipts) }
        let tables = [Array(headers.prefix(count)), hashes, bodies, receipts]
        let w = FreezerTestWriter()
        for (name, items) in zip(FreezerCheck.tableNames, tables) {
            try w.write(name, items: items, compressed: name != "hashes", into: d)
        }
        return tables
    }
}

@Suite(.enabled(if: ChainFixtures.present, "the chain fixtures (Tests/ChainFixtures) are absent"))
struct GethFreezerTests {
    static func verify(_ d: TempDir, state: inout ChainVerifyState) throws -> ChainReport {
        try GethProfile().verify(DirectorySource(root: d.path), state: &state)
    }

    static func corrupt(_ r: ChainReport) -> [ChainProblem] { r.problems.filter { $0.kind != .info } }

    @Test func aValidFreezerVerifiesWithHeightAndTip() throws {
        let d = TempDir()
        let tables = try FreezerTestWriter.chain(3000, into: d)
        #expect(GethProfile().detect(DirectorySource(root: d.path)))
        var state = ChainVerifyState(profile: "geth")
        let r = try Self.verify(d, state: &state)
        #expect(Self.corrupt(r) == [])
        #expect(r.height == 2999)
        #expect(r.tipHash == EthHash(tables[1][2999].withUnsafeBytes { $0 }, at: 0).hex)
        #expect(state.files["geth/chaindata/ancient/chain/headers.cidx"]?.verifiedThrough == 6 * 3001)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: d.path + "/" + FreezerTestWriter.dir)
                .contains("headers.0001.cdat"))  // items really cross data files
    }

    @Test func aBrokenParentLinkIsNamedByHeightWithoutKeccak() throws {
        let d = TempDir()
        var tables = try FreezerTestWriter.chain(500, into: d)
        tables[1][199][5] ^= 0x01  // hashes[199] no longer matches headers[200]'s parent
        try FreezerTestWriter().write("hashes", items: tables[1], compressed: false, into: d)
        var state = ChainVerifyState(profile: "geth")
        let p = Self.corrupt(try Self.verify(d, state: &state))
        #expect(p.map(\.height) == [200])
        #expect(p.first?.what.hasPrefix("headers: parent hash") == true)
        #expect(p.first?.file == "geth/chaindata/ancient/chain/headers.0000.cdat")
    }

    @Test func aWrongNumberAndADamagedItemAreCaught() throws {
        let d = TempDir()
        var tables = try FreezerTestWriter.chain(400, into: d)
        tables[0][10] = tables[0][11]  // header 10 replaced by header 11: number and parent wrong
        tables[2][20][0] = 0x01  // body 20 is no longer an RLP list of its size
        let w = FreezerTestWriter()
        try w.write("headers", items: tables[0], compressed: true, into: d)
        try w.write("bodies", items: tables[2], compressed: true, into: d)
        var state = ChainVerifyState(profile: "geth")
        let p = Self.corrupt(try Self.verify(d, state: &state))
        #expect(p.contains { $0.height == 10 && $0.what == "headers: header says block 11" })
        #expect(p.contains { $0.height == 10 && $0.what.hasPrefix("headers: parent hash") })
        #expect(p.contains { $0.height == 20 && $0.what.hasPrefix("bodies: rlp") })
        #expect(state.files["geth/chaindata/ancient/chain/headers.cidx"] == nil)  // not marked verified
    }

    @Test func indexDamageAndUnequalTablesAreReported() throws {
        let d = TempDir()
        let tables = try FreezerTestWriter.chain(300, into: d)
        try FreezerTestWriter().write("receipts", items: Array(tables[3].prefix(250)), compressed: true, into: d)
        let path = d.path + "/" + FreezerTestWriter.dir + "/bodies.cidx"
        var index = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        index[6 * 100 + 2] = 0xff  // entry 100's end offset far past the data file
        try Data(index).write(to: URL(fileURLWithPath: path))
        var state = ChainVerifyState(profile: "geth")
        let p = Self.corrupt(try Self.verify(d, state: &state))
        #expect(p.contains { $0.kind == .gap && $0.what.contains("receipts") == false && $0.height == 99 })
        #expect(p.contains { $0.kind == .corrupt && $0.offset == 600 && $0.what.contains("past data file") })
    }

    @Test func damagePastTheMetaFlushOffsetIsTolerated() throws {
        let d = TempDir()
        var tables = try FreezerTestWriter.chain(100, into: d)
        tables[2][99] = [0x01, 0x02]
        // meta v2: [version 2, virtual tail 0, flush offset = index bytes of items 0..98]
        let flush = UInt16(6 * 100)
        try FreezerTestWriter().write(
            "bodies", items: tables[2], compressed: true, into: d,
            meta: [0xc5, 0x02, 0x80, 0x82, UInt8(flush >> 8), UInt8(flush & 0xff)])
        var state = ChainVerifyState(profile: "geth")
        let r = try Self.verify(d, state: &state)
        #expect(Self.corrupt(r) == [])
        #expect(r.problems.contains { $0.kind == .info && $0.height == 99 && $0.what.hasPrefix("bodies: ") })
    }

    @Test func anIncrementalRunChecksOnlyNewItemsAndNoticesARewrite() throws {
        let d = TempDir()
        let tables = try FreezerTestWriter.chain(1000, into: d)
        var state = ChainVerifyState(profile: "geth")
        let first = try Self.verify(d, state: &state)
        #expect(Self.corrupt(first) == [])
        // Append 200 blocks: the second run reads a fraction of the first run's bytes.
        _ = try FreezerTestWriter.chain(1200, into: d)
        let second = try Self.verify(d, state: &state)
        #expect(Self.corrupt(second) == [] && second.height == 1199)
        #expect(second.bytesChecked < first.bytesChecked / 2)
        // Rewrite an early, verified index entry: reported as a change before the verified mark.
        var w = FreezerTestWriter(); w.maxFileSize = 150_000
        try w.write("headers", items: Array(tables[0]) + [], compressed: true, into: d)
        let third = try Self.verify(d, state: &state)
        #expect(Self.corrupt(third).contains { $0.what.hasPrefix("index changed before the verified mark") })
    }
}
