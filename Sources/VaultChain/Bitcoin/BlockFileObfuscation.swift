import Glibc
import VaultCore

/// What a backup needs to store Bitcoin Core's obfuscated block files de-obfuscated (FORMAT.md §7,
/// "Content transforms"): where the key is, which files it applies to, and how far each file's
/// XORed bytes reach. Bitcoin Core (node/blockstorage.cpp) writes records through an `AutoFile`
/// that XORs every byte with `key[(file offset) % 8]`, and preallocates the active file's tail
/// (16 MiB steps for blk, 1 MiB for rev) with `posix_fallocate` or by writing raw zeros, never
/// XORed; a finished file is truncated to its records.
public enum BlockFileObfuscation {
    public enum Kind: Sendable { case blocks, undo }

    /// The blocks directory (relative to `root`, "" for `root` itself) and its `xor.dat` key, when
    /// `root` is a Bitcoin Core data directory whose key is 8 bytes and not all zero.
    public static func key(in root: String) -> (directory: String, key: [UInt8])? {
        let source = DirectoryChainSource(root)
        guard let layout = BitcoindLayout.find(source), let xor = layout.xor, xor.size == 8 else { return nil }
        var key = [UInt8](repeating: 0, count: 8)
        guard let n = try? key.withUnsafeMutableBytes({ try source.read(xor.path, offset: 0, into: $0) }), n == 8,
            key.contains(where: { $0 != 0 })
        else { return nil }
        return (layout.directory, key)
    }

    /// `blk?????.dat` or `rev?????.dat` (five digits or more), else nil.
    public static func kind(ofFileNamed name: String) -> Kind? {
        if BitcoindLayout.number(name, "blk") != nil { return .blocks }
        if BitcoindLayout.number(name, "rev") != nil { return .undo }
        return nil
    }

    /// How many bytes from the start of the open file `fd` (`size` bytes) Bitcoin Core XORed: the
    /// end of its chain of records (a known network's magic, then the same magic, sizes in bounds,
    /// each record inside the file), provided that everything after it is the zero tail, either
    /// raw (Bitcoin Core's preallocation: the record end is returned) or XORed (a tool that
    /// obfuscated whole files: `size`). nil when neither holds (bytes after the records that are
    /// not zeros either way: a torn append) or on a read error: the file is then stored as is.
    public static func obfuscatedLength(fd: Int32, size: UInt64, key: [UInt8], kind: Kind) -> UInt64? {
        guard key.count == 8 else { return nil }
        let maxPayload: UInt64 = kind == .blocks ? 4_000_000 : 32 << 20
        let trailer: UInt64 = kind == .blocks ? 0 : 32
        var header = [UInt8](repeating: 0, count: 8)
        var offset: UInt64 = 0
        var magic: UInt32?
        while offset + 8 <= size {
            guard read(fd, &header, at: offset) else { return nil }
            for i in 0..<8 { header[i] ^= key[Int((offset + UInt64(i)) % 8)] }
            let found = UInt32(header[0]) | UInt32(header[1]) << 8 | UInt32(header[2]) << 16 | UInt32(header[3]) << 24
            let length = UInt64(header[4]) | UInt64(header[5]) << 8 | UInt64(header[6]) << 16 | UInt64(header[7]) << 24
            if let magic, found != magic { break }
            guard magic != nil || BitcoinNetwork.byMagic(found) != nil, length > 0, length <= maxPayload,
                offset + 8 + length + trailer <= size
            else { break }
            magic = found
            offset += 8 + length + trailer
        }
        switch tail(fd, from: offset, to: size, key: key) {
        case .rawZeros: return offset
        case .xoredZeros: return size
        case .other: return nil
        }
    }

    private enum Tail { case rawZeros, xoredZeros, other }

    /// What the bytes `from..<to` are; an empty tail is raw zeros.
    private static func tail(_ fd: Int32, from: UInt64, to: UInt64, key: [UInt8]) -> Tail {
        var raw = true, xored = true
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var at = from
        while at < to && (raw || xored) {
            let n = Int(min(UInt64(buffer.count), to - at))
            guard read(fd, &buffer, count: n, at: at) else { return .other }
            buffer.withUnsafeBytes { b in
                if raw { raw = isZero(b, count: n) }
                if xored {
                    for i in 0..<n where b[i] != key[Int((at + UInt64(i)) % 8)] { xored = false; break }
                }
            }
            at += UInt64(n)
        }
        return raw ? .rawZeros : xored ? .xoredZeros : .other
    }

    private static func isZero(_ b: UnsafeRawBufferPointer, count: Int) -> Bool {
        let words = count / 8
        for i in 0..<words where b.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) != 0 { return false }
        for i in (words * 8)..<count where b[i] != 0 { return false }
        return true
    }

    private static func read(_ fd: Int32, _ buffer: inout [UInt8], count: Int? = nil, at offset: UInt64) -> Bool {
        let want = count ?? buffer.count
        var done = 0
        while done < want {
            let n = buffer.withUnsafeMutableBytes {
                Glibc.pread(fd, $0.baseAddress! + done, want - done, off_t(offset) + off_t(done))
            }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            done += n
        }
        return true
    }
}
