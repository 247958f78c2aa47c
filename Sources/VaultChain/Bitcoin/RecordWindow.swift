#if canImport(Glibc)
    import Glibc
#endif

/// A sliding window over one `blk`/`rev` file of a `ChainDataSource`, de-obfuscated with the
/// directory's `xor.dat` key as it is read (`plain[i] = disk[i] ^ key[(offset + i) % 8]`). Memory is
/// bounded by the read size plus the largest record asked for, whatever the file's size.
final class RecordWindow {
    let source: ChainDataSource
    let path: String
    let size: UInt64
    private let key: [UInt8]  // 8 bytes, all zero when the directory has no xor.dat
    private var buffer: UnsafeMutableRawBufferPointer
    private var start: UInt64 = 0  // file offset of buffer[0]
    private var filled = 0
    private(set) var bytesRead: UInt64 = 0
    private let readSize: Int
    private let readLimit: UInt64

    /// Reads in pieces of this size: large enough that per-call costs vanish (an 8 MiB pread).
    static let readSize = 8 << 20

    /// `readSize`: how much one read fetches at least (small for a walk over record headers);
    /// `readLimit`: reads fetch nothing past it unless asked to (the end of a piece of the file).
    init(
        source: ChainDataSource, path: String, size: UInt64, key: [UInt8], readSize: Int = RecordWindow.readSize,
        readLimit: UInt64? = nil
    ) {
        self.source = source; self.path = path; self.size = size
        self.key = key.count == 8 ? key : [UInt8](repeating: 0, count: 8)
        self.readSize = readSize
        self.readLimit = min(readLimit ?? size, size)
        buffer = .allocate(byteCount: readSize, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// The plain bytes [offset, offset + count), or nil when the file ends first.
    func bytes(at offset: UInt64, count: Int) throws -> UnsafeRawBufferPointer? {
        guard offset + UInt64(count) <= size else { return nil }
        if offset < start || offset + UInt64(count) > start + UInt64(filled) { try load(offset, count) }
        let from = Int(offset - start)
        return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[from..<(from + count)])
    }

    /// True when the disk bytes (before de-obfuscation) in `plain`, found at `offset`, are all zero:
    /// the preallocated tail, which Bitcoin Core never XORs.
    func isRawZero(_ plain: UnsafeRawBufferPointer, at offset: UInt64) -> Bool {
        for i in 0..<plain.count where plain[i] != key[Int((offset + UInt64(i)) % 8)] { return false }
        return true
    }

    /// True when every disk byte from `offset` to the end of the file is zero.
    func restIsRawZero(from offset: UInt64) throws -> Bool {
        var at = offset
        while at < size {
            let n = Int(min(UInt64(max(readSize / 2, 1)), size - at))
            guard let piece = try bytes(at: at, count: n), isRawZero(piece, at: at) else { return false }
            at += UInt64(n)
        }
        return true
    }

    /// Refills the buffer from `offset`. Bytes already held from there on (the start of a record
    /// that ran past the buffer's end) move to the front instead of being read and XORed again:
    /// with 8 MiB reads and ~1 MB blocks that was ~6 % more copying and XOR than the file's size.
    private func load(_ offset: UInt64, _ count: Int) throws {
        let want = max(count, Int(min(UInt64(readSize), readLimit > offset ? readLimit - offset : 0)))
        let end = start + UInt64(filled)
        let kept = offset >= start && offset < end ? Int(end - offset) : 0
        let keptFrom = buffer.baseAddress! + (kept > 0 ? Int(offset - start) : 0)
        if want > buffer.count {
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: want, alignment: 16)
            memcpy(bigger.baseAddress!, keptFrom, kept)
            buffer.deallocate()
            buffer = bigger
        } else if kept > 0 {
            memmove(buffer.baseAddress!, keptFrom, kept)  // the ranges may overlap
        }
        // Read in steps and XOR each while it is still in the core's cache: one pass over the
        // 8 MiB buffer at memory speed instead of two (perf: the XOR pass was ~5 % of a check).
        var got = kept
        while got < want {
            let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[got..<min(want, got + Self.step)])
            let n = try source.read(path, offset: offset + UInt64(got), into: piece)
            if n == 0 { break }
            deobfuscate(UnsafeMutableRawBufferPointer(rebasing: buffer[got..<(got + n)]), at: offset + UInt64(got))
            got += n
        }
        start = offset; filled = got
        guard got >= count else {
            filled = 0
            throw ChainSourceShortRead(path: path, offset: offset + UInt64(got))
        }
        bytesRead += UInt64(got - kept)
    }

    /// Bytes per read call: about a core's L2 cache, and few enough calls (each opens the file, for
    /// a directory) that they cost well under 1 %.
    static let step = 1 << 20

    /// XOR with the key rotated to the file offset.
    private func deobfuscate(_ b: UnsafeMutableRawBufferPointer, at offset: UInt64) {
        var rotated: UInt64 = 0
        for j in 0..<8 { rotated |= UInt64(key[Int((offset + UInt64(j)) % 8)]) << (8 * UInt64(j)) }
        if rotated == 0 { return }
        // 32 bytes per step as one vector (the key repeats every 8 bytes), then words, then bytes.
        let wide = SIMD4<UInt64>(repeating: rotated.littleEndian)
        var i = 0
        while i + 32 <= b.count {
            let v = b.loadUnaligned(fromByteOffset: i, as: SIMD4<UInt64>.self)
            b.storeBytes(of: v ^ wide, toByteOffset: i, as: SIMD4<UInt64>.self)
            i += 32
        }
        while i + 8 <= b.count {
            let v = b.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            b.storeBytes(of: v ^ rotated.littleEndian, toByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < b.count { b[i] ^= key[Int((offset + UInt64(i)) % 8)]; i += 1 }
    }
}

/// The source returned fewer bytes than its listing promised (the file shrank while being read).
struct ChainSourceShortRead: Error {
    var path: String
    var offset: UInt64
}
