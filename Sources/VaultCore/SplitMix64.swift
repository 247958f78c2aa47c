/// Deterministic pseudo-random numbers (SplitMix64, Steele et al. 2014): fast and seedable, for
/// generating reproducible test and benchmark data. Never for keys or nonces (use SecureRandom).
public struct SplitMix64 {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Appends `count` pseudo-random bytes to `out`, eight at a time.
    public mutating func fill(_ out: inout [UInt8], count: Int) {
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: count))
        out.withUnsafeMutableBytes { p in
            var i = start
            while i + 8 <= p.count { p.storeBytes(of: next(), toByteOffset: i, as: UInt64.self); i += 8 }
            while i < p.count { p[i] = UInt8(truncatingIfNeeded: next()); i += 1 }
        }
    }

    public mutating func bytes(_ count: Int) -> [UInt8] { var out: [UInt8] = []; fill(&out, count: count); return out }

    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
}
