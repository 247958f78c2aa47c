import Foundation
import Testing
@testable import VaultChain
import VaultCore

/// Block files checked in pieces on several cores give exactly what one scan of each file gives:
/// the same problems in the same order with the same heights, the same best chain, the same bytes
/// checked and the same saved state, for a valid chain, a bad block, a bad record header (which
/// ends the file's scan mid-file), the crash signature and an incremental run after an append.
@Suite struct BitcoindPieceTests {
    /// ~11 KB blocks, 64 KiB files (several files, each in many pieces), preallocated, obfuscated.
    func chain(_ s: ChainScratch) throws -> RegtestChainWriter {
        let w = try RegtestChainWriter(
            directory: s.root + "/regtest/blocks", key: BitcoindGeneratedTests.key,
            maxFileSize: 64 << 10, preallocate: true)
        try w.append(60, transactions: 30, payload: 300)
        return w
    }

    struct Outcome: Equatable {
        var problems: [String]
        var height: UInt64?
        var tip: String?
        var bytesChecked: UInt64
        var state: ChainVerifyState
    }

    /// Whole files, pieces of about one block, and pieces smaller than a block (one record each).
    static let sizes: [UInt64] = [0, 12 << 10, 1]

    func outcomes(_ s: ChainScratch, from state: ChainVerifyState? = nil) throws -> [Outcome] {
        try Self.sizes.map { size in
            var st = state ?? ChainVerifyState(profile: "bitcoind")
            let r = try BitcoindProfile(pieceSize: size).verify(DirectoryChainSource(s.root), state: &st)
            return Outcome(
                problems: r.problems.map(\.line), height: r.height, tip: r.tipHash,
                bytesChecked: r.bytesChecked, state: st)
        }
    }

    func expectAllEqual(_ o: [Outcome], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for x in o.dropFirst() {
            #expect(x == o[0], "\(what): \(x.problems) vs \(o[0].problems)", sourceLocation: sourceLocation)
        }
    }

    @Test func piecesGiveWhatOneScanPerFileGives() throws {
        let s = try ChainScratch()
        let w = try chain(s)
        #expect(Set(w.blocks.map(\.file)).count >= 4)
        let clean = try outcomes(s)
        #expect(clean[0].problems.isEmpty && clean[0].height == 60, "\(clean[0].problems)")
        expectAllEqual(clean, "valid chain")

        // A bad block in the middle of the first file: reported, the walk goes on after it.
        let block = w.blocks[3]
        try s.flipBit("regtest/blocks/" + block.file, at: Int(block.offset) + 8 + 200)
        let badBlock = try outcomes(s)
        #expect(badBlock[0].problems.count >= 1)
        expectAllEqual(badBlock, "bad block")
        try s.flipBit("regtest/blocks/" + block.file, at: Int(block.offset) + 8 + 200)

        // A bad record magic ends the scan of its file there; nothing after it is checked.
        let header = w.blocks[2]
        try s.flipBit("regtest/blocks/" + header.file, at: Int(header.offset))
        let badHeader = try outcomes(s)
        #expect(badHeader[0].problems.contains { $0.contains("bad record magic") }, "\(badHeader[0].problems)")
        expectAllEqual(badHeader, "bad record header")
        try s.flipBit("regtest/blocks/" + header.file, at: Int(header.offset))

        // The active file cut inside its last record: the crash signature.
        let last = w.blocks.last!
        let path = "regtest/blocks/" + last.file
        let bytes = try s.read(path)
        try s.write(path, Array(bytes[0..<(Int(last.offset) + last.size - 5)]))
        let cut = try outcomes(s)
        #expect(cut[0].problems.contains { $0.contains("cut short") }, "\(cut[0].problems)")
        expectAllEqual(cut, "truncated")
        try s.write(path, bytes)
    }

    @Test func anIncrementalRunInPiecesChecksWhatOneScanChecks() throws {
        let s = try ChainScratch()
        let w = try chain(s)
        var state = ChainVerifyState(profile: "bitcoind")
        _ = try BitcoindProfile(pieceSize: 0).verify(DirectoryChainSource(s.root), state: &state)
        try w.append(40, transactions: 30, payload: 300)
        let appended = try outcomes(s, from: state)
        #expect(appended[0].problems.isEmpty && appended[0].height == 100, "\(appended[0].problems)")
        expectAllEqual(appended, "after an append")
    }
}
