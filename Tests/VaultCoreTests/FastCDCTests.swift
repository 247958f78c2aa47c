import Testing
import VaultCore

private let small = ChunkerParameters(minSize: 2048, averageSize: 8192, maxSize: 32768)

@Test func chunkingIsDeterministicAndCoversTheInput() {
    var rng = SplitMix64(seed: 1)
    let data = rng.bytes(1 << 20)
    let a = FastCDC(small).chunkLengths(data)
    let b = FastCDC(small).chunkLengths(data)
    #expect(a == b)
    #expect(a.reduce(0, +) == data.count)
    #expect(a.count > 40, "average 8 KiB over 1 MiB gives roughly 128 chunks, got \(a.count)")
}

@Test func chunksRespectMinAndMax() {
    var rng = SplitMix64(seed: 2)
    for data in [rng.bytes(3 << 20), [UInt8](repeating: 0, count: 300_000)] {
        let lengths = FastCDC(small).chunkLengths(data)
        for n in lengths.dropLast() {
            #expect(n >= small.minSize && n <= small.maxSize)
        }
        #expect(lengths.last! <= small.maxSize)
    }
    // Zero bytes never hit a boundary: every chunk is the maximum.
    #expect(Set(FastCDC(small).chunkLengths([UInt8](repeating: 0, count: 300_000)).dropLast()) == [small.maxSize])
}

@Test func averageChunkSizeIsNearTheTarget() {
    var rng = SplitMix64(seed: 3)
    let data = rng.bytes(64 << 20)
    let lengths = FastCDC(.standard).chunkLengths(data)
    let mean = Double(data.count) / Double(lengths.count)
    #expect(mean > 0.7 * Double(1 << 20) && mean < 1.6 * Double(1 << 20), "mean chunk \(mean)")
}

@Test func insertingAByteNearTheStartChangesOnlyTheFirstChunks() {
    var rng = SplitMix64(seed: 4)
    let data = rng.bytes(2 << 20)
    var edited = data
    edited.insert(0x5A, at: 100)
    func chunks(_ d: [UInt8]) -> [SHA256Digest] {
        var offset = 0
        return FastCDC(small).chunkLengths(d).map { n in
            defer { offset += n }; return SHA256.hash(d[offset..<offset + n])
        }
    }
    let before = chunks(data), after = chunks(edited)
    let shared = Set(before).intersection(after)
    #expect(before.count - shared.count <= 2, "only the chunk holding the edit (and maybe its neighbour) may change")
    #expect(Array(before.suffix(before.count - 2)) == Array(after.suffix(before.count - 2)))
}

@Test func gearTableIsFixedByTheFormat() {
    // Pinned: changing the table re-chunks every repository and breaks cross-repository dedup.
    #expect(FastCDC.gearTable.count == 256)
    #expect(
        String(FastCDC.gearTable[0], radix: 16)
            == String(SHA256.hash([UInt8]("chainvault gear ".utf8) + [0]).w0, radix: 16))
    #expect(Set(FastCDC.gearTable).count == 256)
}

@Test func invalidParametersAreRejected() {
    #expect(throws: VaultError.self) {
        try ChunkerParameters(minSize: 10, averageSize: 8192, maxSize: 32768).validate()
    }
    #expect(throws: VaultError.self) {
        try ChunkerParameters(minSize: 2048, averageSize: 8000, maxSize: 32768).validate()
    }
    #expect(throws: Never.self) { try ChunkerParameters.standard.validate() }
}

@Test func byteReaderThrowsOnTruncation() throws {
    var w = ByteWriter()
    w.u32(7); w.shortBytes([1, 2, 3])
    var r = ByteReader(w.bytes, what: "test record")
    #expect(try r.u32() == 7)
    #expect(try r.shortBytes() == [1, 2, 3])
    #expect(throws: VaultError.self) { try r.u8() }
    var truncated = ByteReader(Array(w.bytes.prefix(6)), what: "test record")
    _ = try? truncated.u32()
    #expect(throws: VaultError.self) { try truncated.shortBytes() }
}

/// Pinned boundaries: the chunker is part of the format (dedup across versions and repositories
/// depends on it), so an optimization must reproduce these exactly.
@Test func chunkBoundariesArePinned() {
    var rng = SplitMix64(seed: 2026)
    let data = rng.bytes(24 << 20)
    let lengths = FastCDC(.standard).chunkLengths(data)
    let digest = SHA256.hash(lengths.flatMap { withUnsafeBytes(of: UInt64($0).littleEndian, Array.init) }).hex
    #expect(lengths.count == 21)
    #expect(digest == "952bbbc8f52e1a60eeb8d7364c388e3f6de49a195e1562b203fe3963ab23740a")
    // Small parameters: hundreds of boundaries, both masks exercised.
    let many = FastCDC(small).chunkLengths(Array(data.prefix(4 << 20)))
    let manyDigest = SHA256.hash(many.flatMap { withUnsafeBytes(of: UInt64($0).littleEndian, Array.init) }).hex
    #expect(many.count == 455)
    #expect(manyDigest == "6982ef0af65ba59afc30dc0fc5d541ca4cc5a586942584bd20fb3b8063888aa1")
}

/// The gear hash as the paper writes it, one byte per step: the optimised `cut` must agree with it
/// at every boundary position (all offsets mod 4, both masks, the tail, the maximum).
private func referenceCut(_ data: ArraySlice<UInt8>, _ p: ChunkerParameters) -> Int {
    let n = min(data.count, p.maxSize)
    if data.count <= p.minSize { return data.count }
    let bits = p.averageSize.trailingZeroBitCount
    let hard = ~UInt64(0) << UInt64(64 - (bits + 2)), easy = ~UInt64(0) << UInt64(64 - (bits - 2))
    var h: UInt64 = 0
    var i = p.minSize
    while i < n {
        h = (h &<< 1) &+ FastCDC.gearTable[Int(data[data.startIndex + i])]
        if h & (i < p.averageSize ? hard : easy) == 0 { return i + 1 }
        i += 1
    }
    return n
}

@Test func optimisedCutEqualsTheOneByteReference() {
    let tiny = ChunkerParameters(minSize: 64, averageSize: 256, maxSize: 1027)
    var rng = SplitMix64(seed: 9)
    let data = rng.bytes(1 << 20) + [UInt8](repeating: 7, count: 5000) + rng.bytes(333)
    let chunker = FastCDC(tiny)
    var offset = 0, cuts: [Int: Int] = [:]
    while offset < data.count {
        let expected = referenceCut(data[offset...], tiny)
        let got = data.withUnsafeBytes { chunker.cut(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
        #expect(got == expected, "at offset \(offset)")
        if got != expected { return }
        cuts[got % 4, default: 0] += 1
        offset += got
    }
    #expect(cuts.count == 4, "boundaries at every position of the unrolled loop: \(cuts)")
}
