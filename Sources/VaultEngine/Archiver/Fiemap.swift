import Glibc

/// FS_IOC_FIEMAP, for one question SEEK_HOLE cannot answer: which "holes" are preallocated space
/// (posix_fallocate, as bitcoind does for blk files). ext4 and XFS report unwritten extents as
/// holes; a restore that recreates them as real holes would change the allocation.
enum Fiemap {
    /// _IOWR('f', 11, struct fiemap) from linux/fs.h (struct fiemap is 32 bytes).
    static let request: UInt = 0xC020_660B
    static let headerSize = 32
    /// struct fiemap_extent: logical, physical, length u64, 2 × u64 reserved, flags u32, 3 × u32 reserved.
    static let extentSize = 56
    static let flagLast: UInt32 = 0x1
    static let flagUnwritten: UInt32 = 0x800
    static let batch = 256
    /// A file fragmented beyond this is treated as having no preallocated space (it is only a loss of
    /// allocation on restore, never of data).
    static let maximumExtents = 1 << 16

    /// The unwritten extents of `fd`, sorted; empty when the file system has no FIEMAP (tmpfs, NFS).
    static func unwrittenExtents(fd: Int32) -> [Range<UInt64>] {
        var out: [Range<UInt64>] = []
        var buffer = [UInt8](repeating: 0, count: headerSize + batch * extentSize)
        var start: UInt64 = 0
        var seen = 0
        while seen < maximumExtents {
            let (mapped, last, next) = buffer.withUnsafeMutableBytes { b -> (Int, Bool, UInt64) in
                b.initializeMemory(as: UInt8.self, repeating: 0)
                b.storeBytes(of: start, toByteOffset: 0, as: UInt64.self)  // fm_start
                b.storeBytes(of: UInt64.max - start, toByteOffset: 8, as: UInt64.self)  // fm_length
                b.storeBytes(of: UInt32(batch), toByteOffset: 24, as: UInt32.self)  // fm_extent_count
                guard ioctl(fd, request, b.baseAddress!) == 0 else { return (-1, true, 0) }
                let mapped = Int(b.load(fromByteOffset: 20, as: UInt32.self))
                var last = mapped == 0, next = start
                for i in 0..<min(mapped, batch) {
                    let e = headerSize + i * extentSize
                    let logical = b.load(fromByteOffset: e, as: UInt64.self)
                    let length = b.load(fromByteOffset: e + 16, as: UInt64.self)
                    let flags = b.load(fromByteOffset: e + 40, as: UInt32.self)
                    if flags & flagUnwritten != 0 { out.append(logical..<logical + length) }
                    if flags & flagLast != 0 { last = true }
                    next = logical + length
                }
                return (mapped, last, next)
            }
            if mapped < 0 { return [] }
            seen += mapped
            if last || next <= start { break }
            start = next
        }
        return seen < maximumExtents ? out : []
    }
}
