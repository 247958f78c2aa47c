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
    let ok = compressed[..<n].withUnsafeBytes { ZstdDecompressor().decompress($0, expectedSize: size, appendingTo: &out) }
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
    #expect(![UInt8](repeating: 0xAB, count: 64).withUnsafeBytes { d.decompress($0, expectedSize: 10, appendingTo: &out) })
    #expect(out.isEmpty)
}

/// A small deterministic generator for test data (not for secrets).
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func bytes(_ n: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: n)
        out.withUnsafeMutableBytes { p in
            var i = 0
            while i + 8 <= n { p.storeBytes(of: next(), toByteOffset: i, as: UInt64.self); i += 8 }
            while i < n { p[i] = UInt8(truncatingIfNeeded: next()); i += 1 }
        }
        return out
    }
}
