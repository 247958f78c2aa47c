import Foundation
import Testing
@testable import VaultChain

/// Builds era1 files for tests from blocks taken out of the real fixture: re-frames changed
/// headers as uncompressed snappy chunks (valid CRCs) and rewrites the index and accumulator,
/// so a test can make a file that is well-formed yet wrong in one chain rule.
struct Era1TestBlock {
    var header: [UInt8]  // framed value, as stored
    var body: [UInt8]
    var receipts: [UInt8]
    var totalDifficulty: [UInt8]  // 32 bytes LE
}

enum Era1TestWriter {
    static func blocks(of bytes: [UInt8]) throws -> [Era1TestBlock] {
        let dir = TempDir()
        try dir.write("f.era1", bytes)
        let source = DirectorySource(root: dir.path)
        var reader = E2StoreReader(source: source, path: "f.era1", size: UInt64(bytes.count))
        let layout = try Era1Layout.read(&reader)
        return try layout.offsets.map { offset in
            var values: [[UInt8]] = []
            var at = offset
            for _ in 0..<4 {
                let h = try reader.header(at: at)
                values.append(try reader.withValue(h) { Array($0) })
                at = h.end
            }
            return Era1TestBlock(header: values[0], body: values[1], receipts: values[2], totalDifficulty: values[3])
        }
    }

    /// Snappy framing with one uncompressed chunk per 64 KiB: what a writer may legally emit.
    static func frame(_ data: [UInt8]) -> [UInt8] {
        var out = SnappyFrameDecoder.streamIdentifier
        var i = 0
        repeat {
            let piece = Array(data[i..<min(data.count, i + 65_536)])
            let length = piece.count + 4
            out += [0x01, UInt8(length & 0xff), UInt8((length >> 8) & 0xff), UInt8(length >> 16)]
            withUnsafeBytes(of: CRC32C.masked(CRC32C.checksum(piece)).littleEndian) { out += $0 }
            out += piece
            i += 65_536
        } while i < data.count
        return out
    }

    static func unframe(_ value: [UInt8]) throws -> [UInt8] {
        var d = SnappyFrameDecoder()
        try value.withUnsafeBytes { try d.decode($0, limit: 1 << 24) }
        return d.withDecoded { Array($0) }
    }

    static func entry(_ type: UInt16, _ value: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [UInt8(type & 0xff), UInt8(type >> 8)]
        withUnsafeBytes(of: UInt32(value.count).littleEndian) { out += $0 }
        return out + [0, 0] + value
    }

    /// An era1 file of `blocks` starting at `start`, with `root` as its accumulator.
    static func file(start: UInt64, blocks: [Era1TestBlock], root: EthHash) -> [UInt8] {
        var out = entry(Era1Type.version, [])
        var offsets: [Int] = []
        for b in blocks {
            offsets.append(out.count)
            out += entry(Era1Type.header, b.header) + entry(Era1Type.body, b.body)
            out += entry(Era1Type.receipts, b.receipts) + entry(Era1Type.totalDifficulty, b.totalDifficulty)
        }
        out += entry(Era1Type.accumulator, root.bytes)
        let indexStart = out.count
        var index: [UInt8] = []
        withUnsafeBytes(of: start.littleEndian) { index += $0 }
        for o in offsets { withUnsafeBytes(of: Int64(o - indexStart).littleEndian) { index += $0 } }
        withUnsafeBytes(of: UInt64(blocks.count).littleEndian) { index += $0 }
        return out + entry(Era1Type.blockIndex, index)
    }

    /// The accumulator of `blocks` when `last` is the hash of the final block.
    static func root(_ blocks: [Era1TestBlock], last: EthHash) throws -> EthHash {
        let parents = try blocks.map { b in
            try unframe(b.header).withUnsafeBytes { try EthHeaderFields(rlp: $0).parentHash }
        }
        let tds = blocks.map { b in b.totalDifficulty.withUnsafeBytes { UInt256(littleEndian: $0) } }
        return EpochAccumulator.root(hashes: Array(parents.dropFirst()) + [last], difficulties: tds)
    }

    static func name(era: Int, root: EthHash) -> String {
        "sepolia-" + String(format: "%05d", era) + "-" + String(root.hex.prefix(8)) + ".era1"
    }
}

@Suite struct GethEra1WriterTests {
    @Test func framedDataRoundTripsThroughTheDecoder() throws {
        let data = (0..<150_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        #expect(try Era1TestWriter.unframe(Era1TestWriter.frame(data)) == data)
    }
}
