/// FastCDC content-defined chunking (Xia et al., USENIX ATC 2016, with normalized chunking).
///
/// A gear hash `h = (h << 1) + gear[byte]` rolls over the data; a boundary falls where the top bits
/// of `h` are zero. The top bit depends on the last 64 bytes, so boundaries depend only on nearby
/// content and an insertion moves only the boundaries around it. Normalization level 2 uses a
/// harder mask (2 more bits) before the average size and an easier one (2 fewer) after it, which
/// narrows the size distribution around the average.
public struct ChunkerParameters: Codable, Sendable, Equatable {
    public var minSize: Int
    public var averageSize: Int
    public var maxSize: Int

    public init(minSize: Int, averageSize: Int, maxSize: Int) {
        self.minSize = minSize; self.averageSize = averageSize; self.maxSize = maxSize
    }

    /// 256 KiB / 1 MiB / 4 MiB (DESIGN.md): large enough that per-chunk costs (index entry, hash
    /// lookup, GCM setup) vanish against the data, small enough that appends and LevelDB
    /// compactions dedup well.
    public static let standard = ChunkerParameters(minSize: 256 << 10, averageSize: 1 << 20, maxSize: 4 << 20)

    public func validate() throws {
        guard minSize >= 64, minSize < averageSize, averageSize < maxSize, averageSize & (averageSize - 1) == 0,
            maxSize <= 64 << 20
        else {
            throw VaultError(
                .corrupt, "invalid chunker parameters min=\(minSize) avg=\(averageSize) max=\(maxSize)",
                hint: "the repository config may be damaged")
        }
    }
}

public struct FastCDC: Sendable {
    public let parameters: ChunkerParameters
    private let gear: [UInt64]
    private let maskHard: UInt64
    private let maskEasy: UInt64

    /// The gear table: entry i is the first 8 bytes (big-endian) of SHA-256("chainvault gear " + i as
    /// one byte). Fixed by the format so that every repository chunks the same data the same way
    /// (which lets `copy` between repositories deduplicate).
    public static let gearTable: [UInt64] = (0..<256).map { i in
        var seed = Array("chainvault gear ".utf8)
        seed.append(UInt8(i))
        return SHA256.hash(seed).w0
    }

    public init(_ parameters: ChunkerParameters) {
        self.parameters = parameters
        self.gear = FastCDC.gearTable
        let bits = parameters.averageSize.trailingZeroBitCount
        func topMask(_ n: Int) -> UInt64 { n <= 0 ? 0 : ~UInt64(0) << UInt64(64 - n) }
        maskHard = topMask(bits + 2)
        maskEasy = topMask(bits - 2)
    }

    /// The length of the chunk that starts at `data[0]`. `data` must hold at least `maxSize` bytes
    /// unless it is the end of the stream, in which case the rest is the last chunk.
    public func cut(_ data: UnsafeRawBufferPointer) -> Int {
        var n = data.count
        if n <= parameters.minSize { return n }
        if n > parameters.maxSize { n = parameters.maxSize }
        let normal = min(n, parameters.averageSize)
        // The hot loop of every backup: raw pointers and masks in locals, so the compiler keeps
        // everything in registers (this is 2x the speed of indexing the arrays through self).
        let p = data.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let hard = maskHard, easy = maskEasy
        return gear.withUnsafeBufferPointer { gb in
            let g = gb.baseAddress!
            var h: UInt64 = 0
            var i = parameters.minSize
            if let cut = Self.scan(p, g, &h, &i, normal, hard) { return cut }
            if let cut = Self.scan(p, g, &h, &i, n, easy) { return cut }
            return n
        }
    }

    /// Rolls the hash over `p[i..<end]` and returns the first boundary. The simple loop is one
    /// serial shift-add per byte; here the chain advances two bytes per step
    /// (h₂ = 4h + (2g₁ + g₂), the table terms computed off the chain) and the odd positions branch
    /// off it, so the same cut points come out faster.
    @inline(__always)
    private static func scan(
        _ p: UnsafePointer<UInt8>, _ g: UnsafePointer<UInt64>, _ h: inout UInt64, _ i: inout Int,
        _ end: Int, _ mask: UInt64
    ) -> Int? {
        var x = h, j = i
        while j &+ 4 <= end {
            let a = g[Int(p[j])], b = g[Int(p[j &+ 1])], c = g[Int(p[j &+ 2])], d = g[Int(p[j &+ 3])]
            let x1 = (x &<< 1) &+ a
            let x2 = (x &<< 2) &+ ((a &<< 1) &+ b)
            let x3 = (x2 &<< 1) &+ c
            let x4 = (x2 &<< 2) &+ ((c &<< 1) &+ d)
            if (x1 & mask == 0) || (x2 & mask == 0) || (x3 & mask == 0) || (x4 & mask == 0) {
                if x1 & mask == 0 { return j &+ 1 }
                if x2 & mask == 0 { return j &+ 2 }
                if x3 & mask == 0 { return j &+ 3 }
                return j &+ 4
            }
            x = x4
            j &+= 4
        }
        while j < end {
            x = (x &<< 1) &+ g[Int(p[j])]
            j &+= 1
            if x & mask == 0 { return j }
        }
        h = x; i = j
        return nil
    }

    /// Chunk lengths of a whole in-memory buffer (tests, benchmarks).
    public func chunkLengths(_ data: [UInt8]) -> [Int] {
        var lengths: [Int] = []
        data.withUnsafeBytes { all in
            var offset = 0
            while offset < all.count {
                let n = cut(UnsafeRawBufferPointer(rebasing: all[offset...]))
                lengths.append(n)
                offset += n
            }
        }
        return lengths
    }
}
