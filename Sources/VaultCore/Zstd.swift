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
    /// compressor's). Returns the compressed length.
    @discardableResult
    public func compress(_ source: UnsafeRawBufferPointer, into destination: inout [UInt8], level: Int32? = nil) -> Int
    {
        let level = level ?? self.level
        let capacity = ZSTD_compressBound(source.count)
        if destination.count < capacity { destination = [UInt8](repeating: 0, count: capacity) }
        let n = destination.withUnsafeMutableBytes { d in
            ZSTD_compressCCtx(cctx, d.baseAddress, capacity, source.baseAddress, source.count, level)
        }
        precondition(ZSTD_isError(n) == 0, "zstd compress failed: \(String(cString: ZSTD_getErrorName(n)))")
        return n
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
