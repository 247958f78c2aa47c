import Foundation
import Testing
import VaultCore
@testable import VaultChain

/// The real Sepolia era1 file (blocks 0..8191) from the shared fixtures, and damaged copies.
@Suite(.enabled(if: ChainFixtures.present, "the chain fixtures (Tests/ChainFixtures) are absent"))
struct GethEra1Tests {
    static let genesis = EthHash(hex: "25a5cc106eea7138acab33231d7160d69cb777ee0c2c553fcddf5138993e6dd9")!
    /// Hash of Sepolia block 8191: keccak-256 of the fixture's last header, computed once outside
    /// chainvault (pycryptodome), the method checked by reproducing the genesis hash from header 0
    /// and block 8190's hash as header 8191's parent. The file alone cannot give it without keccak.
    static let block8191 = EthHash(hex: "8e3e7dc9ef199c05683417b4aa572f0b7a8bcfafca7edb6045baabc01aa4fb0c")!

    static func check(_ files: [(String, [UInt8])], anchors: [UInt64: EthHash] = [:]) throws -> Era1ChainCheck {
        let dir = TempDir()
        for (name, bytes) in files { try dir.write("era1/" + name, bytes) }
        let source = DirectorySource(root: dir.path)
        var check = Era1ChainCheck(anchors: anchors)
        try check.run(source, files: try source.files(in: "era1"))
        return check
    }

    static func fixture() throws -> [UInt8] { try ChainFixtures.bytes(ChainFixtures.era1Name) }

    static func layout(_ bytes: [UInt8]) throws -> Era1Layout {
        let dir = TempDir()
        try dir.write("f.era1", bytes)
        var reader = E2StoreReader(source: DirectorySource(root: dir.path), path: "f.era1", size: UInt64(bytes.count))
        return try Era1Layout.read(&reader)
    }

    @Test func theFixtureIsThePublishedFile() throws {
        let published = "ab7f6d4f4eba0267406f783b75accc7a93dece520242d04fed27b0af51d79242"
        #expect(SHA256.hash(try Self.fixture()).hex == published)
    }

    @Test func theRealFileVerifiesAndItsAccumulatorIsRecomputed() throws {
        let check = try Self.check([(ChainFixtures.era1Name, Self.fixture())], anchors: [8191: Self.block8191])
        #expect(check.problems == [])
        let s = try #require(check.summaries.first)
        #expect(s.start == 0 && s.parents.count == 8192 && s.complete)
        #expect(s.hash(ofBlock: 0) == Self.genesis)
        #expect(s.storedRoot?.hex.hasPrefix("643a00f7") == true)
        #expect(check.rootVerified == ["era1/" + ChainFixtures.era1Name])
    }

    @Test func withoutTheLastHashTheAccumulatorIsReportedUncheckedNotValid() throws {
        let check = try Self.check([(ChainFixtures.era1Name, Self.fixture())])
        #expect(check.problems.map(\.kind) == [.info])
        #expect(check.problems.first?.what.contains("accumulator not recomputed") == true)
        #expect(check.rootVerified.isEmpty)
    }

    @Test(arguments: [(block: 100, entry: 0), (block: 5000, entry: 1), (block: 8191, entry: 2)])
    func aFlippedBitInACompressedChunkIsCaughtByItsCRC(block: Int, entry: Int) throws {
        var bytes = try Self.fixture()
        let layout = try Self.layout(bytes)
        // Walk to the chosen entry of the block, then flip a bit in the middle of its value.
        var at = Int(layout.offsets[block])
        for _ in 0..<entry { at += 8 + Int(bytes[at + 2]) | Int(bytes[at + 3]) << 8 | Int(bytes[at + 4]) << 16 }
        let length = Int(bytes[at + 2]) | Int(bytes[at + 3]) << 8 | Int(bytes[at + 4]) << 16
        let flipped = at + 8 + 10 + (length - 10) / 2
        bytes[flipped] ^= 0x10
        let check = try Self.check([(ChainFixtures.era1Name, bytes)], anchors: [8191: Self.block8191])
        let p = try #require(check.problems.first { $0.kind == .corrupt })
        #expect(p.height == UInt64(block))
        #expect(p.file == "era1/" + ChainFixtures.era1Name)
        #expect(p.offset.map { Int($0) >= at && Int($0) <= flipped } == true)
        #expect(p.what.contains("snappy"))
        #expect(block == 8191 || p.blockHash != nil)
    }

    @Test func aFlippedBitInATotalDifficultyBreaksTheArithmeticAtThatBlock() throws {
        var bytes = try Self.fixture()
        let blocks = try Era1TestWriter.blocks(of: bytes)
        let layout = try Self.layout(bytes)
        let tdEntry = Int(layout.offsets[301]) - 40  // the 32-byte TD entry ends where block 301 starts
        bytes[tdEntry + 8] ^= 0x01
        #expect(blocks[300].totalDifficulty[0] != bytes[tdEntry + 8])
        let check = try Self.check([(ChainFixtures.era1Name, bytes)], anchors: [8191: Self.block8191])
        let corrupt = check.problems.filter { $0.kind == .corrupt }
        #expect(corrupt.first?.height == 300)
        #expect(corrupt.first?.offset == UInt64(tdEntry))
        #expect(corrupt.first?.what.contains("total difficulty") == true)
    }

    @Test func aFlippedBitInTheAccumulatorContradictsTheBlocksAndTheName() throws {
        var bytes = try Self.fixture()
        let layout = try Self.layout(bytes)
        bytes[Int(layout.accumulatorOffset) + 8] ^= 0x80
        let check = try Self.check([(ChainFixtures.era1Name, bytes)], anchors: [8191: Self.block8191])
        let what = check.problems.filter { $0.kind == .corrupt }.map(\.what)
        #expect(what.count == 2)
        #expect(what.contains { $0.hasPrefix("accumulator ") && $0.contains("does not match the blocks' 643a00f7") })
        #expect(what.contains { $0.hasPrefix("file name says accumulator 643a00f7") })
        #expect(check.rootVerified.isEmpty)
    }

    @Test func aRewrittenHeaderWithValidChecksumsIsCaughtByNumberOrAccumulator() throws {
        var blocks = try Era1TestWriter.blocks(of: try Self.fixture())
        var header = try Era1TestWriter.unframe(blocks[1000].header)
        // parentHash is the first field: byte 4 onwards (list header f9 xx xx, then a0).
        header[20] ^= 0x01
        blocks[1000].header = Era1TestWriter.frame(header)
        let stored = EthHash(hex: "643a00f78fd6a304a29c80b2f2f946e9e57494597600262b378b2754d34dff41")!
        let file = Era1TestWriter.file(start: 0, blocks: blocks, root: stored)
        let check = try Self.check([(ChainFixtures.era1Name, file)], anchors: [8191: Self.block8191])
        #expect(check.problems.map(\.kind) == [.corrupt])
        #expect(check.problems.first?.what.contains("does not match the blocks'") == true)
    }

    @Test func aHeaderOutOfOrderIsNamedByItsNumber() throws {
        var blocks = try Era1TestWriter.blocks(of: try Self.fixture())
        blocks.swapAt(10, 11)
        let file = Era1TestWriter.file(start: 0, blocks: blocks, root: .zero)
        let check = try Self.check([("x.era1", file)])
        let heights = check.problems.filter { $0.what.contains("header says block") }.map(\.height)
        #expect(heights == [10, 11])
    }

    /// Two files cut from the fixture (blocks 0..4095 and 4096..8191): the first file's last
    /// hash comes from the second's first parent, so its accumulator is checked without keccak.
    @Test func consecutiveFilesLinkAndABrokenLinkIsCaught() throws {
        let blocks = try Era1TestWriter.blocks(of: try Self.fixture())
        let firstParentB = try Era1TestWriter.unframe(blocks[4096].header).withUnsafeBytes {
            try EthHeaderFields(rlp: $0).parentHash
        }
        let a = Array(blocks[0..<4096]), b = Array(blocks[4096...])
        let rootA = try Era1TestWriter.root(a, last: firstParentB)
        let rootB = try Era1TestWriter.root(b, last: Self.block8191)
        let fileA = (Era1TestWriter.name(era: 0, root: rootA), Era1TestWriter.file(start: 0, blocks: a, root: rootA))
        let fileB = (Era1TestWriter.name(era: 1, root: rootB), Era1TestWriter.file(start: 4096, blocks: b, root: rootB))
        let good = try Self.check([fileA, fileB])
        #expect(good.problems.map(\.kind) == [.info])  // only B's last block needs its successor
        #expect(good.rootVerified == ["era1/" + fileA.0])

        // B's first header now names another parent: A's accumulator no longer matches.
        var broken = b
        var header = try Era1TestWriter.unframe(broken[0].header)
        header[30] ^= 0x04
        broken[0].header = Era1TestWriter.frame(header)
        let fileB2 = (fileB.0, Era1TestWriter.file(start: 4096, blocks: broken, root: rootB))
        let bad = try Self.check([fileA, fileB2])
        #expect(bad.problems.contains { $0.kind == .corrupt && $0.file == "era1/" + fileA.0 })

        // A gap: B without its first block.
        let gapB = (fileB.0, Era1TestWriter.file(start: 4097, blocks: Array(b.dropFirst()), root: rootB))
        let gap = try Self.check([fileA, gapB])
        #expect(gap.problems.contains { $0.kind == .gap && $0.height == 4097 })
    }

    @Test func aTruncatedFileIsReportedNotTrusted() throws {
        let bytes = try Self.fixture()
        let check = try Self.check([(ChainFixtures.era1Name, Array(bytes.prefix(bytes.count - 1000)))])
        #expect(check.problems.first?.kind == .corrupt)
        #expect(check.summaries.first?.complete == false)
    }
}
