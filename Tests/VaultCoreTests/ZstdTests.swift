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
