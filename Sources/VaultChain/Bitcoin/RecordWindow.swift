/// A sliding window over one `blk`/`rev` file of a `ChainDataSource`, de-obfuscated with the
/// directory's `xor.dat` key as it is read (`plain[i] = disk[i] ^ key[(offset + i) % 8]`). Memory is
/// bounded by the read size plus the largest record asked for, whatever the file's size.
final class RecordWindow {
    let source: ChainDataSource
    let path: String
    let size: UInt64
    private let key: [UInt8]          // 8 bytes, all zero when the directory has no xor.dat
    private var buffer: UnsafeMutableRawBufferPointer
    private var start: UInt64 = 0     // file offset of buffer[0]
    private var filled = 0
    private(set) var bytesRead: UInt64 = 0
    private let readSize: Int
    private let readLimit: UInt64

    /// Reads in pieces of this size: large enough that per-call costs vanish (an 8 MiB pread).
    static let readSize = 8 << 20

    /// `readSize`: how much one read fetches at least (small for a walk over record headers);
    /// `readLimit`: reads fetch nothing past it unless asked to (the end of a piece of the file).
    init(source: ChainDataSource, path: String, size: UInt64, key: [UInt8], readSize: Int = RecordWindow.readSize,
         readLimit: UInt64? = nil) {
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

    private func load(_ offset: UInt64, _ count: Int) throws {
        let want = max(count, Int(min(UInt64(readSize), readLimit > offset ? readLimit - offset : 0)))
        if want > buffer.count {
            buffer.deallocate()
            buffer = .allocate(byteCount: want, alignment: 16)
        }
        var got = 0
        while got < want {
            let n = try source.read(path, offset: offset + UInt64(got),
                                    into: UnsafeMutableRawBufferPointer(rebasing: buffer[got..<want]))
            if n == 0 { break }
            got += n
        }
        guard got >= count else {
            throw ChainSourceShortRead(path: path, offset: offset + UInt64(got))
        }
        start = offset; filled = got
        bytesRead += UInt64(got)
        deobfuscate(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<got]), at: offset)
    }

    /// XOR eight bytes at a time with the key rotated to the file offset.
    private func deobfuscate(_ b: UnsafeMutableRawBufferPointer, at offset: UInt64) {
        var rotated: UInt64 = 0
        for j in 0..<8 { rotated |= UInt64(key[Int((offset + UInt64(j)) % 8)]) << (8 * UInt64(j)) }
        if rotated == 0 { return }
        let words = b.count / 8
        for i in 0..<words {
            let v = b.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
            b.storeBytes(of: v ^ rotated.littleEndian, toByteOffset: i * 8, as: UInt64.self)
        }
        for i in (words * 8)..<b.count { b[i] ^= key[Int((offset + UInt64(i)) % 8)] }
    }
}

/// The source returned fewer bytes than its listing promised (the file shrank while being read).
struct ChainSourceShortRead: Error {
    var path: String
    var offset: UInt64
}
