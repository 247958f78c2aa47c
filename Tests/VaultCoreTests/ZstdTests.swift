import CZstd
import Testing
import VaultCore

@Test(arguments: [0, 1, 1000, 1 << 20])
func zstdRoundTrips(size: Int) {
    var rng = SplitMix64(seed: UInt64(size))
    let data = (0..<size).map { i in i % 3 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : UInt8(i % 7) }
    let c = ZstdCompressor(level: 3)
    var compressed: [UInt8] = []
    let n = data.withUnsafeBytes { c.compress($0, into: &compressed) }
    var out: [UInt8] = []
    let ok = compressed[..<n].withUnsafeBytes {
        ZstdDecompressor().decompress($0, expectedSize: size, appendingTo: &out)
    }
    #expect(ok && out == data)
}

@Test func zstdRejectsWrongSizeAndGarbage() {
    let data = [UInt8](repeating: 7, count: 4096)
    var compressed: [UInt8] = []
    let n = data.withUnsafeBytes { ZstdCompressor(level: 3).compress($0, into: &compressed) }
    let d = ZstdDecompressor()
    var out: [UInt8] = []
    #expect(!compressed[..<n].withUnsafeBytes { d.decompress($0, expectedSize: 4095, appendingTo: &out) })
    #expect(!compressed[..<n].withUnsafeBytes { d.decompress($0, expectedSize: 4097, appendingTo: &out) })
    #expect(
        ![UInt8](repeating: 0xAB, count: 64).withUnsafeBytes { d.decompress($0, expectedSize: 10, appendingTo: &out) })
    #expect(out.isEmpty)
}

/// Level 3 runs with a 2^14-entry chain table (`ZstdCompressor.chainLog(forLevel:)`: the tables
/// then fit a core's L2 cache beside a 1 MiB chunk), other levels with zstd's own parameters: the
/// frames are byte for byte what libzstd writes with exactly those settings, and decode as ever.
@Test func levelThreeUsesTheSmallChainTable() throws {
    var rng = SplitMix64(seed: 17)
    // Words of 5-8 bytes from a vocabulary of 20,000: many short matches far apart, which the two
    // chain tables find differently.
    let words = (0..<20_000).map { _ in (0..<(5 + Int(rng.next() % 4))).map { _ in UInt8(97 + rng.next() % 26) } }
    var data = [UInt8]()
    while data.count < 1 << 20 { data += words[Int(rng.next() % UInt64(words.count))] }
    func direct(_ level: Int32, chainLog: Int32?) -> [UInt8] {
        let c = ZSTD_createCCtx()!
        defer { ZSTD_freeCCtx(c) }
        ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level)
        if let chainLog { ZSTD_CCtx_setParameter(c, ZSTD_c_chainLog, chainLog) }
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(data.count))
        let n = out.withUnsafeMutableBytes { o in
            data.withUnsafeBytes { ZSTD_compress2(c, o.baseAddress, o.count, $0.baseAddress, $0.count) }
        }
        return Array(out[..<n])
    }
    let compressor = ZstdCompressor(level: 3)
    #expect(ZstdCompressor.chainLog(forLevel: 3) == 14)
    for level: Int32 in [1, 3, 3, 1] {  // the same context, parameters set afresh each call
        var frame: [UInt8] = []
        let n = data.withUnsafeBytes { compressor.compress($0, into: &frame, level: level) }
        let expected = direct(level, chainLog: level == 3 ? 14 : nil)
        let same = Array(frame[..<n]) == expected  // not #expect(a == b): it would print 1 MiB twice
        #expect(same, "level \(level)")
        var back: [UInt8] = []
        #expect(
            frame[..<n].withUnsafeBytes {
                ZstdDecompressor().decompress($0, expectedSize: data.count, appendingTo: &back)
            })
        let roundTrips = back == data
        #expect(roundTrips, "level \(level) decodes to the input")
    }
    let differ = direct(3, chainLog: 14) != direct(3, chainLog: nil)
    #expect(differ, "the data must tell the two tables apart")
}

/// `literals: false` writes exactly libzstd's frame with `ZSTD_c_literalCompressionMode` set to
/// `ZSTD_ps_disable` (the experimental parameter's number and value are spelled out in Zstd.swift,
/// so a libzstd that renumbered them would show here), which decodes like any other frame; on text,
/// whose literals Huffman coding shrinks, it is a different and larger frame, so the switch acts.
@Test func rawLiteralsAreLibzstdsOwnFrame() throws {
    var text: [UInt8] = []
    var line = 0
    while text.count < 256 << 10 {
        text += Array("height=\(800_000 + line) peers=\(line * 7 % 97) hash=\(String(line * 7919, radix: 16))\n".utf8)
        line += 1
    }
    func direct(literals: Bool) -> [UInt8] {
        let c = ZSTD_createCCtx()!
        defer { ZSTD_freeCCtx(c) }
        ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 3)
        ZSTD_CCtx_setParameter(c, ZSTD_c_chainLog, 14)
        if !literals { ZSTD_CCtx_setParameter(c, ZSTD_c_experimentalParam5, 2) }
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(text.count))
        let n = out.withUnsafeMutableBytes { o in
            text.withUnsafeBytes { ZSTD_compress2(c, o.baseAddress, o.count, $0.baseAddress, $0.count) }
        }
        return Array(out[..<n])
    }
    let compressor = ZstdCompressor(level: 3)
    for literals in [false, true, false] {  // the same context: the switch is set afresh each call
        var frame: [UInt8] = []
        let n = text.withUnsafeBytes { compressor.compress($0, into: &frame, literals: literals) }
        let same = Array(frame[..<n]) == direct(literals: literals)
        #expect(same, "literals coded: \(literals)")
        var back: [UInt8] = []
        #expect(
            frame[..<n].withUnsafeBytes {
                ZstdDecompressor().decompress($0, expectedSize: text.count, appendingTo: &back)
            })
        #expect(back == text)
    }
    #expect(direct(literals: false).count > direct(literals: true).count, "the text's literals must shrink when coded")
}
