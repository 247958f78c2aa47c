/// The unsigned 256-bit integers of Ethereum's total difficulty: only what the checks need
/// (decode, add with overflow detection, compare), as four 64-bit limbs, least significant first.
public struct UInt256: Hashable, Sendable, CustomStringConvertible {
    public var limbs: (UInt64, UInt64, UInt64, UInt64)
    public static let zero = UInt256(limbs: (0, 0, 0, 0))

    public init(limbs: (UInt64, UInt64, UInt64, UInt64)) { self.limbs = limbs }

    /// From 32 little-endian bytes (era1's TotalDifficulty entry, SSZ's uint256).
    public init(littleEndian buf: UnsafeRawBufferPointer) {
        precondition(buf.count >= 32)
        func limb(_ i: Int) -> UInt64 {
            UInt64(littleEndian: buf.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
        }
        self.init(limbs: (limb(0), limb(1), limb(2), limb(3)))
    }

    /// From at most 32 big-endian bytes (an RLP integer).
    public init(bigEndian buf: UnsafeRawBufferPointer) {
        precondition(buf.count <= 32)
        var l: [UInt64] = [0, 0, 0, 0]
        for (i, b) in buf.reversed().enumerated() { l[i / 8] |= UInt64(b) << (8 * UInt64(i % 8)) }
        self.init(limbs: (l[0], l[1], l[2], l[3]))
    }

    /// The sum, or nil on overflow past 2^256.
    public func adding(_ o: UInt256) -> UInt256? {
        let (a0, c0) = limbs.0.addingReportingOverflow(o.limbs.0)
        var (a1, c1) = limbs.1.addingReportingOverflow(o.limbs.1)
        if c0 { let (x, c) = a1.addingReportingOverflow(1); a1 = x; c1 = c1 || c }
        var (a2, c2) = limbs.2.addingReportingOverflow(o.limbs.2)
        if c1 { let (x, c) = a2.addingReportingOverflow(1); a2 = x; c2 = c2 || c }
        var (a3, c3) = limbs.3.addingReportingOverflow(o.limbs.3)
        if c2 { let (x, c) = a3.addingReportingOverflow(1); a3 = x; c3 = c3 || c }
        return c3 ? nil : UInt256(limbs: (a0, a1, a2, a3))
    }

    public func appendLittleEndian(to out: inout [UInt8]) {
        for l in [limbs.0, limbs.1, limbs.2, limbs.3] {
            withUnsafeBytes(of: l.littleEndian) { out.append(contentsOf: $0) }
        }
    }

    public static func == (a: UInt256, b: UInt256) -> Bool {
        a.limbs.0 == b.limbs.0 && a.limbs.1 == b.limbs.1 && a.limbs.2 == b.limbs.2 && a.limbs.3 == b.limbs.3
    }

    public func hash(into h: inout Hasher) {
        h.combine(limbs.0); h.combine(limbs.1); h.combine(limbs.2); h.combine(limbs.3)
    }

    /// Decimal when it fits in 64 bits (what operators compare with explorers), hex otherwise.
    public var description: String {
        if limbs.1 == 0, limbs.2 == 0, limbs.3 == 0 { return String(limbs.0) }
        return "0x"
            + [limbs.3, limbs.2, limbs.1, limbs.0].map {
                let s = String($0, radix: 16)
                return String(repeating: "0", count: 16 - s.count) + s
            }.joined()
    }
}
