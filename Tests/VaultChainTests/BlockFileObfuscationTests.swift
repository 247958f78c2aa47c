import Glibc
import Testing
@testable import VaultChain
import VaultCore

/// How far Bitcoin Core XORed a block file (what a backup stores de-obfuscated, FORMAT.md §7):
/// the end of its records when the rest is the raw preallocated zero tail, never decided by the
/// value of the bytes inside a record.
@Suite struct BlockFileObfuscationTests {
    static let key: [UInt8] = [0x95, 0x47, 0x39, 0x30, 0xf3, 0x68, 0x0c, 0x28]

    func length(
        _ s: ChainScratch, _ relative: String, _ kind: BlockFileObfuscation.Kind,
        key: [UInt8] = Self.key
    ) throws -> UInt64? {
        let fd = try Posix.open(s.root + "/" + relative, O_RDONLY)
        defer { Posix.close(fd) }
        return BlockFileObfuscation.obfuscatedLength(
            fd: fd, size: UInt64(try Posix.fileSize(fd, path: relative)), key: key, kind: kind)
    }

    @Test func thePreallocatedActiveFilesEndWhereTheirLastRecordEndsAndFinishedFilesAreXoredWhole() throws {
        let s = try ChainScratch()
        let w = try RegtestChainWriter(
            directory: s.root + "/blocks", key: Self.key, maxFileSize: 1 << 20, preallocate: true)
        try w.append(100, transactions: 40, payload: 330)
        let lastBlock = try #require(w.blocks.last), lastUndo = try #require(w.undo.last)
        #expect(lastBlock.file != "blk00000.dat", "the chain spans several files")
        #expect(try length(s, "blocks/" + lastBlock.file, .blocks) == lastBlock.offset + UInt64(lastBlock.size))
        #expect(try length(s, "blocks/" + lastUndo.file, .undo) == lastUndo.offset + UInt64(lastUndo.size))
        // The generator leaves earlier files preallocated too: they end at their records as well.
        let firstEnd = w.blocks.filter { $0.file == "blk00000.dat" }.map { $0.offset + UInt64($0.size) }.max()!
        #expect(try length(s, "blocks/blk00000.dat", .blocks) == firstEnd)
        #expect(BlockFileObfuscation.key(in: s.root)?.key == Self.key)
        #expect(BlockFileObfuscation.key(in: s.root)?.directory == "blocks")
    }

    @Test func theRealRegtestUndoFileIsXoredUpToItsRecordsAndNotInItsZeroTail() throws {
        let s = try ChainScratch()
        try s.copy("bitcoind-regtest-v28/rev00000.dat", to: "blocks/rev00000.dat")
        try s.copy("bitcoind-regtest-v28/xor.dat", to: "blocks/xor.dat")
        try s.copy("mainnet-blk-0-120.dat", to: "blocks/blk00000.dat")  // so the layout is found
        let key = try s.read("blocks/xor.dat")
        let disk = try s.read("blocks/rev00000.dat")
        // Its records (magic, size, CBlockUndo, 32-byte checksum), walked here byte by byte.
        let plain = disk.enumerated().map { $0.element ^ key[$0.offset % 8] }
        var end = 0
        while Array(plain[end..<end + 4]) == [0xfa, 0xbf, 0xb5, 0xda] {
            end +=
                8 + 32
                + (Int(plain[end + 4]) | Int(plain[end + 5]) << 8 | Int(plain[end + 6]) << 16 | Int(plain[end + 7])
                    << 24)
        }
        #expect(end > 1000 && disk.count == 1 << 20 && disk[end...].allSatisfy { $0 == 0 })
        #expect(try length(s, "blocks/rev00000.dat", .undo, key: key) == UInt64(end))
        #expect(BlockFileObfuscation.key(in: s.root)?.key == key)
    }

    /// A block may end in zero bytes: they are XORed on disk (key bytes), and belong to the record.
    @Test func zerosAtTheEndOfARecordAreNotTakenForTheTail() throws {
        let s = try ChainScratch()
        var plain: [UInt8] = [0xfa, 0xbf, 0xb5, 0xda, 100, 0, 0, 0] + [UInt8](repeating: 7, count: 50)
        plain += [UInt8](repeating: 0, count: 50)
        var disk = plain.enumerated().map { $0.element ^ Self.key[$0.offset % 8] } + [UInt8](repeating: 0, count: 4096)
        try s.write("blk00000.dat", disk)
        #expect(try length(s, "blk00000.dat", .blocks) == 108)
        // A tool that XORed whole files (the tail too): everything is XORed.
        disk = (plain + [UInt8](repeating: 0, count: 4096)).enumerated().map { $0.element ^ Self.key[$0.offset % 8] }
        try s.write("blk00000.dat", disk)
        #expect(try length(s, "blk00000.dat", .blocks) == UInt64(disk.count))
    }

    /// Bytes after the records that are zeros neither raw nor XORed (a torn append, another
    /// writer): the boundary is unknown and the file is stored as it is.
    @Test func aTailThatIsNotZerosEitherWayLeavesTheFileAsItIs() throws {
        let s = try ChainScratch()
        let w = try RegtestChainWriter(directory: s.root + "/blocks", key: Self.key, preallocate: true)
        try w.append(5)
        var disk = try s.read("blocks/blk00000.dat")
        let end = Int(w.blocks.last!.offset) + w.blocks.last!.size
        disk[end + 100] = 0x42
        try s.write("blocks/blk00000.dat", disk)
        #expect(try length(s, "blocks/blk00000.dat", .blocks) == nil)
    }
}
