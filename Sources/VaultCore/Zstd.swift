internal import CZstd

/// A zstd compression context, reused across calls; one per worker thread.
public final class ZstdCompressor {
    private let cctx: OpaquePointer
    public let level: Int32

    public init(level: Int32) {
        guard let c = ZSTD_createCCtx() else { fatalError("ZSTD_createCCtx failed") }
        cctx = c
        self.level = level
    }

    deinit { ZSTD_freeCCtx(cctx) }

    public static func bound(_ count: Int) -> Int { ZSTD_compressBound(count) }

    /// Compresses `source` into `destination` (resized to fit) at `level` (default: this
    /// compressor's). Returns the compressed length. `literals: false` stores the bytes no match
    /// covers as they are instead of trying to Huffman-code them (`literalsPay`).
    @discardableResult
    public func compress(
        _ source: UnsafeRawBufferPointer, into destination: inout [UInt8], level: Int32? = nil, literals: Bool = true
    ) -> Int {
        let level = level ?? self.level
        let capacity = ZSTD_compressBound(source.count)
        if destination.count < capacity { destination = [UInt8](repeating: 0, count: capacity) }
        // `ZSTD_compressCCtx` would ignore every parameter but the level: set them, then compress2.
        ZSTD_CCtx_reset(cctx, ZSTD_reset_parameters)
        check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level))
        if let chainLog = Self.chainLog(forLevel: level) {
            check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_chainLog, chainLog))
        }
        // A libzstd that did not know the switch would write literals as before: the frame is valid
        // either way, so its answer is not checked.
        if !literals { _ = ZSTD_CCtx_setParameter(cctx, Self.literalCompressionMode, Self.switchDisabled) }
        let n = destination.withUnsafeMutableBytes { d in
            ZSTD_compress2(cctx, d.baseAddress, capacity, source.baseAddress, source.count)
        }
        check(n)
        return n
    }

    /// Level 3 with a chain table of 2^14 entries instead of zstd's 2^16 for inputs over 256 KiB:
    /// level 3's two match tables (512 KiB and 256 KiB) beside a 1 MiB chunk overflow a core's L2
    /// cache (1 MiB here), and its search loop waits on memory (perf: ~45 % of a first backup's CPU in
    /// one loop). With 64 KiB the table stays cached. Measured on 1 MiB pieces: othergen.py 1 GiB
    /// -11.7 % compression CPU for +0.08 % bytes, our generator's 1 GiB -7 % for -0.01 %, the chain
    /// fixtures -16 % for -0.04 %. Frames stay ordinary zstd frames: readers see no difference.
    /// Other levels keep zstd's own parameters.
    public static func chainLog(forLevel level: Int32) -> Int32? { level == 3 ? 14 : nil }

    /// `ZSTD_c_literalCompressionMode`, set to `ZSTD_ps_disable`: zstd.h declares both names only
    /// under ZSTD_STATIC_LINKING_ONLY (the parameter is "experimental"), but the values have been
    /// these since libzstd 1.4 and decoders need nothing to read the result (raw literals blocks
    /// are part of every zstd frame format). Where a chunk's unmatched bytes are hashes and
    /// signatures, the Huffman stage finds nothing and zstd stores them raw anyway; skipping the
    /// attempt took 20 % of level 3's time on othergen.py's 1 GiB (3.34 -> 2.66 CPU-s) and left
    /// block files, tables and era1 files byte for byte the same.
    static let literalCompressionMode = ZSTD_c_experimentalParam5
    static let switchDisabled: Int32 = 2

    /// Whether Huffman-coding the literals pays on `sample`: its level 1 frame with literals coded
    /// is smaller than with them raw by more than 1/128 of the sample. `fast` is the sample's size
    /// at level 1 with literals coded, which the caller has already computed.
    public func literalsPay(_ sample: UnsafeRawBufferPointer, fast: Int, into scratch: inout [UInt8]) -> Bool {
        compress(sample, into: &scratch, level: 1, literals: false) > fast + sample.count / 128
    }

    private func check(_ code: Int) {
        precondition(ZSTD_isError(code) == 0, "zstd compress failed: \(String(cString: ZSTD_getErrorName(code)))")
    }
}

/// A zstd decompression context; one per worker thread.
public final class ZstdDecompressor {
    private let dctx: OpaquePointer

    public init() {
        guard let d = ZSTD_createDCtx() else { fatalError("ZSTD_createDCtx failed") }
        dctx = d
    }

    deinit { ZSTD_freeDCtx(dctx) }

    /// Appends exactly `expectedSize` decompressed bytes to `out`, or returns false if the frame is
    /// malformed or has another size (never trust a length an attacker could have written).
    public func decompress(_ source: UnsafeRawBufferPointer, expectedSize: Int, appendingTo out: inout [UInt8]) -> Bool
    {
        let start = out.count
        out.appendZeros(expectedSize)
        let ok = out.withUnsafeMutableBytes { o in
            decompress(source, into: UnsafeMutableRawBufferPointer(rebasing: o[start...]))
        }
        if !ok { out.removeSubrange(start...) }
        return ok
    }

    /// Decompresses into exactly `destination.count` bytes (a buffer the caller reuses), or returns
    /// false if the frame is malformed or decompresses to another size.
    public func decompress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Bool {
        var spare: UInt8 = 0
        let n = withUnsafeMutablePointer(to: &spare) { p in
            ZSTD_decompressDCtx(
                dctx, destination.baseAddress ?? UnsafeMutableRawPointer(p), destination.count,
                source.baseAddress, source.count)
        }
        return ZSTD_isError(n) == 0 && n == destination.count
    }
}
