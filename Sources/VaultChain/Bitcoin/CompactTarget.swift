/// Bitcoin's compact difficulty (`nBits`): a 256-bit target as mantissa × 256^(exponent-3), and the
/// work a block of that target proves (2^256 / (target + 1), Bitcoin Core's `GetBlockProof`).
/// Targets are four little-endian 64-bit words (word 3 most significant), like `arith_uint256`.
struct CompactTarget: Sendable, Equatable {
    var words: (UInt64, UInt64, UInt64, UInt64)

    static func == (a: CompactTarget, b: CompactTarget) -> Bool { a.array == b.array }

    var array: [UInt64] { [words.0, words.1, words.2, words.3] }

    /// nil for the encodings Bitcoin Core rejects: negative, zero, or overflowing 256 bits.
    init?(bits: UInt32) {
        let exponent = Int(bits >> 24)
        let mantissa = UInt64(bits & 0x007f_ffff)
        if bits & 0x0080_0000 != 0 && mantissa != 0 { return nil }  // negative
        if mantissa == 0 { return nil }
        var w: [UInt64] = [0, 0, 0, 0]
        if exponent <= 3 {
            w[0] = mantissa >> (8 * UInt64(3 - exponent))
            if w[0] == 0 { return nil }
        } else {
            let shift = 8 * (exponent - 3)
            // Overflow: the mantissa's top byte would land beyond bit 255.
            let topBit = 64 - mantissa.leadingZeroBitCount + shift
            if topBit > 256 { return nil }
            let word = shift / 64, bit = shift % 64
            w[word] = mantissa << UInt64(bit)
            if bit > 0 && word + 1 < 4 { w[word + 1] = mantissa >> UInt64(64 - bit) }
        }
        words = (w[0], w[1], w[2], w[3])
    }

    /// True when `hash` (as a little-endian 256-bit number) is at most the target.
    func isMet(by hash: Hash32) -> Bool {
        let h = [hash.w0, hash.w1, hash.w2, hash.w3], t = array
        for i in stride(from: 3, through: 0, by: -1) where h[i] != t[i] { return h[i] < t[i] }
        return true
    }

    static func <= (a: CompactTarget, b: CompactTarget) -> Bool {
        let x = a.array, y = b.array
        for i in stride(from: 3, through: 0, by: -1) where x[i] != y[i] { return x[i] < y[i] }
        return true
    }

    /// 2^256 / (target + 1), saturated to UInt128 (real targets give at most ~2^80 per block).
    var work: UInt128 {
        // Bitcoin Core's identity: 2^256 / (t + 1) = (~t / (t + 1)) + 1, by long division in bits.
        let t = array
        var d = t  // divisor = t + 1
        var carry = true
        for i in 0..<4 where carry { d[i] &+= 1; carry = d[i] == 0 }
        if carry { return 1 }  // t = 2^256 - 1
        let n = t.map { ~$0 }
        var quotient: [UInt64] = [0, 0, 0, 0], remainder: [UInt64] = [0, 0, 0, 0]
        for bit in stride(from: 255, through: 0, by: -1) {
            // remainder = remainder << 1 | bit of n; a bit shifted out past 2^256 means remainder > d.
            let overflow = remainder[3] >> 63 == 1
            for i in stride(from: 3, to: 0, by: -1) { remainder[i] = remainder[i] << 1 | remainder[i - 1] >> 63 }
            remainder[0] = remainder[0] << 1 | (n[bit / 64] >> UInt64(bit % 64)) & 1
            if overflow || !Self.less(remainder, d) {
                var borrow: UInt64 = 0
                for i in 0..<4 {
                    let (a, o1) = remainder[i].subtractingReportingOverflow(d[i])
                    let (b, o2) = a.subtractingReportingOverflow(borrow)
                    remainder[i] = b; borrow = (o1 || o2) ? 1 : 0
                }
                quotient[bit / 64] |= 1 << UInt64(bit % 64)
            }
        }
        if quotient[2] != 0 || quotient[3] != 0 { return UInt128.max }
        return (UInt128(quotient[1]) << 64 | UInt128(quotient[0])) + 1
    }

    private static func less(_ a: [UInt64], _ b: [UInt64]) -> Bool {
        for i in stride(from: 3, through: 0, by: -1) where a[i] != b[i] { return a[i] < b[i] }
        return false
    }
}
