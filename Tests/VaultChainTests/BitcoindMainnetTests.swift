import Testing
@testable import VaultChain
import VaultCore

/// Real mainnet blocks 0..120 (shared fixture): what our checks must accept, and one flipped bit
/// anywhere in a block that they must catch, located by file, offset and height.
@Suite struct BitcoindMainnetTests {
    static let block0 = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
    static let block1 = "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048"
    static let block120 = "0000000068e1ce37e6d50d1e960255c00047d9c808146b77df2dc186ab1bc92a"

    @Test func theFixtureVerifiesToHeight120() throws {
        let s = try ChainScratch()
        try s.copy("mainnet-blk-0-120.dat", to: "blocks/blk00000.dat")
        let report = try s.verify()
        #expect(report.valid, "\(report.problems.map(\.line))")
        #expect(report.problems.isEmpty)
        #expect(report.height == 120)
        #expect(report.tipHash == Self.block120)
        #expect(report.bytesChecked == 27081)
    }

    @Test func everyBlockPassesAndHashesAsPublished() throws {
        let s = try ChainScratch()
        try s.copy("mainnet-blk-0-120.dat", to: "blocks/blk00000.dat")
        let window = RecordWindow(
            source: DirectoryChainSource(s.root), path: "blocks/blk00000.dat", size: 27081, key: [])
        let checker = BlockChecker(network: BitcoinNetwork.all[0])
        var hashes: [String] = []
        var failures: [String] = []
        let scanner = RecordScanner(
            window: window, magic: BitcoinNetwork.all[0].magic, isActive: true,
            maxPayload: 4_000_000, trailer: 0)
        let (end, problems) = try scanner.scan(from: 0) { _, payload, _ in
            let (summary, failure) = checker.check(payload)
            hashes.append(summary?.hash.hex ?? "?")
            if let failure { failures.append(failure) }
        }
        #expect(end == 27081 && problems.isEmpty && failures.isEmpty)
        #expect(hashes.count == 121)
        #expect(hashes.first == Self.block0 && hashes.dropFirst().first == Self.block1 && hashes.last == Self.block120)
    }

    /// Byte positions inside block 60 (from its record start): header fields, the transaction count,
    /// inside the coinbase, its output value, the last byte of the block.
    @Test(arguments: [8 + 0, 8 + 4, 8 + 40, 8 + 68, 8 + 72, 8 + 78, 8 + 81, 8 + 90, 8 + 150, 8 + 200, -1])
    func oneFlippedBitInABlockIsCaught(position: Int) throws {
        let s = try ChainScratch()
        try s.copy("mainnet-blk-0-120.dat", to: "blocks/blk00000.dat")
        let offsets = ChainScratch.recordOffsets(try s.read("blocks/blk00000.dat"))
        let at = position >= 0 ? offsets[60] + position : offsets[61] - 1
        try s.flipBit("blocks/blk00000.dat", at: at, mask: 0x01)
        let report = try s.verify()
        #expect(!report.valid)
        let bad = report.problems.filter { $0.kind != .info }
        #expect(bad.count == 1, "\(report.problems.map(\.line))")
        #expect(bad.first?.file == "blocks/blk00000.dat")
        #expect(bad.first?.offset == UInt64(offsets[60]))
        // A flip in the previous-block hash (bytes 4..<36 of the header) hides the parent, and so the height.
        if !(8 + 4..<8 + 36).contains(position) { #expect(bad.first?.height == 60) }
        #expect(report.height == 59)
    }

    @Test func compactTargetsAndWorkAreBitcoinCores() {
        // Genesis difficulty: work 0x100010001 (Bitcoin Core's GetBlockProof for nBits 0x1d00ffff).
        #expect(CompactTarget(bits: 0x1d00ffff)!.work == 0x1_0001_0001)
        #expect(CompactTarget(bits: 0x207fffff)!.work == 2)
        #expect(CompactTarget(bits: 0x04923456) == nil)  // negative
        #expect(CompactTarget(bits: 0xff123456) == nil)  // overflow
        #expect(CompactTarget(bits: 0x1d000000) == nil)  // zero
    }
}
