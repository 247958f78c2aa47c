import Glibc
import VaultChain
import VaultCore
import VaultRepository

/// A backup's source directory as a chain source that also says how much of each file is proven
/// unchanged since the parent snapshot (FORMAT.md, chain check): chunk ids are SHA-256 of the
/// plain bytes, so equal ids at equal offsets in the new snapshot and its parent mean equal bytes.
/// A profile then re-parses a file only from its first differing chunk on, and a bit flipped
/// anywhere in old data (a different chunk id there) is parsed again and caught.
final class ChunkProvenSource: ChainDataSource {
    private let directory: DirectoryChainSource
    private let parent: SnapshotChainSource
    private let current: SnapshotChainSource

    init(directory: DirectoryChainSource, parent: SnapshotChainSource, current: SnapshotChainSource) {
        self.directory = directory; self.parent = parent; self.current = current
    }

    func files(in directory: String) throws -> [ChainFile] { try self.directory.files(in: directory) }

    var smallReadsAreCheap: Bool { true }  // reads go to the source directory

    func read(_ path: String, offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try directory.read(path, offset: offset, into: buffer)
    }

    /// 0 when either snapshot lacks the file or its layout cannot be read: then nothing is proven.
    /// After the equal ids, the bytes of the parent's first differing chunk are compared with the
    /// new snapshot's (both fetched and checked): the parent's last chunk of a file that grew holds
    /// the start of the new bytes, so a daily append is proven up to the old end, and a change is
    /// found to the byte.
    func unchangedPrefix(_ path: String) -> UInt64? {
        guard let old = try? parent.placements(of: path), let new = try? current.placements(of: path) else { return 0 }
        let sameDisk = Self.sameDiskBytes(old.transform, new.transform)
        let byIds = min(
            sameDisk,
            Self.identicalPrefix(
                old.chunks.map { ($0.offset, $0.id, UInt64($0.location.entry.rawLength)) },
                old.size,
                new.chunks.map { ($0.offset, $0.id, UInt64($0.location.entry.rawLength)) },
                new.size))
        let limit = min(old.size, new.size)
        guard byIds < limit,
            let chunk = old.chunks.first(where: { $0.offset + UInt64($0.location.entry.rawLength) > byIds })
        else { return byIds }
        let end = min(chunk.offset + UInt64(chunk.location.entry.rawLength), limit, byIds + Self.compareLimit)
        return byIds + ((try? equalBytes(path, from: byIds, count: Int(end - byIds))) ?? 0)
    }

    /// Equal ids are equal stored bytes, and equal disk bytes only where both files XOR them with
    /// the same key or neither does (a de-obfuscated block file: its range grows with each append).
    static func sameDiskBytes(_ a: ContentTransform?, _ b: ContentTransform?) -> UInt64 {
        switch (a, b) {
        case (nil, nil): return .max
        case let (a?, b?) where a.key == b.key: return min(a.length, b.length)
        default: return 0
        }
    }

    /// At most this many bytes are compared (FastCDC's 4 MiB maximum chunk, and a zero gap before it).
    static let compareLimit: UInt64 = 8 << 20

    /// How many bytes from `from` the parent and the new snapshot have in common.
    private func equalBytes(_ path: String, from: UInt64, count: Int) throws -> UInt64 {
        let a = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 16)
        let b = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 16)
        defer { a.deallocate(); b.deallocate() }
        let n = min(try parent.read(path, offset: from, into: a), try current.read(path, offset: from, into: b))
        var same = 0
        let step = 4096
        while same < n {
            let piece = min(step, n - same)
            if memcmp(a.baseAddress! + same, b.baseAddress! + same, piece) != 0 { break }
            same += piece
        }
        while same < n && a[same] == b[same] { same += 1 }
        return UInt64(same)
    }

    /// Bytes from the start that two chunk layouts (offset, id, length; sorted; gaps are zero runs)
    /// prove identical: up to the first chunk that differs in offset or id. The parent's last chunk
    /// of a file that grew differs (it was cut at the old end): that is an append, not a change.
    static func identicalPrefix(
        _ old: [(UInt64, BlobID, UInt64)], _ oldSize: UInt64,
        _ new: [(UInt64, BlobID, UInt64)], _ newSize: UInt64
    ) -> UInt64 {
        var i = 0
        var through: UInt64 = 0
        while i < old.count && i < new.count {
            let a = old[i], b = new[i]
            // Same previous end and a gap up to here in both: the gap reads as zeros in both.
            if a.0 != b.0 || a.1 != b.1 { return min(a.0, b.0, oldSize, newSize) }
            through = a.0 + a.2
            i += 1
        }
        let nextOld = i < old.count ? old[i].0 : oldSize
        let nextNew = i < new.count ? new[i].0 : newSize
        return min(max(through, min(nextOld, nextNew)), oldSize, newSize)
    }
}
