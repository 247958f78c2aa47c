import Foundation
import Testing
@testable import VaultChain
import VaultCore

/// Chains our regtest writer produces (XOR-obfuscated, preallocated, segwit), and what the check
/// makes of them: undo records against their blocks, the crash signature, gaps, incremental runs.
@Suite struct BitcoindGeneratedTests {
    static let key: [UInt8] = [0x95, 0x47, 0x39, 0x30, 0xf3, 0x68, 0x0c, 0x28]

    func chain(
        _ s: ChainScratch, blocks: Int, key: [UInt8]? = Self.key, maxFileSize: Int = 128 << 20,
        preallocate: Bool = true
    ) throws -> RegtestChainWriter {
        let w = try RegtestChainWriter(
            directory: s.root + "/regtest/blocks", key: key, maxFileSize: maxFileSize,
            preallocate: preallocate)
        try w.append(blocks)
        return w
    }

    @Test func anObfuscatedPreallocatedSegwitChainVerifies() throws {
        let s = try ChainScratch()
        let w = try chain(s, blocks: 200)
        let disk = try s.read("regtest/blocks/blk00000.dat")
        #expect(disk.count == 16 << 20)  // preallocated, zero tail not XORed
        #expect(Array(disk.prefix(4)) != [0xfa, 0xbf, 0xb5, 0xda])  // XOR applied
        let report = try s.verify()
        #expect(report.problems.isEmpty, "\(report.problems.map(\.line))")
        #expect(report.height == 200 && report.tipHash == w.tipHash)
    }

    @Test func theRealRegtestUndoRecordMatchesTheGenesisBlock() throws {
        let s = try ChainScratch()
        try s.copy("bitcoind-regtest-v28/rev00000.dat", to: "rev00000.dat")
        try s.copy("bitcoind-regtest-v28/xor.dat", to: "xor.dat")
        let xor = try s.read("xor.dat")
        let regtest = BitcoinNetwork.byMagic(BitcoinNetwork.magic(0xfa, 0xbf, 0xb5, 0xda))!
        let window = RecordWindow(source: DirectoryChainSource(s.root), path: "rev00000.dat", size: 1 << 20, key: xor)
        let matcher = UndoMatcher(candidates: [.init(prev: regtest.genesis, hash: .zero, txCount: 1)])
        var matched: [Bool] = []
        let scanner = RecordScanner(
            window: window, magic: regtest.magic, isActive: true, maxPayload: 32 << 20, trailer: 32)
        let (end, problems) = try scanner.scan(from: 0) { _, undo, checksum in
            matched.append(matcher.match(undo: undo, checksum: checksum).block != nil)
        }
        #expect(problems.isEmpty)
        #expect(matched.count == 101)  // then the preallocated, un-XORed zero tail
        #expect(end == 4141)
        #expect(matched.first == true)  // record 0's parent is the regtest genesis
    }

    @Test func anUndoRecordThatDoesNotMatchItsBlockIsCorrupt() throws {
        let s = try ChainScratch()
        let w = try chain(s, blocks: 20)
        let u = w.undo[9]  // the undo of height 10
        try s.flipBit("regtest/blocks/" + u.file, at: Int(u.offset) + 9)
        let report = try s.verify()
        let bad = report.problems.filter { $0.kind != .info }
        #expect(bad.count == 1, "\(report.problems.map(\.line))")
        #expect(bad.first?.file == "regtest/blocks/rev00000.dat" && bad.first?.offset == u.offset)
        #expect(bad.first?.height == 10)
    }

    @Test func alteredWitnessDataBreaksTheCommitment() throws {
        let s = try ChainScratch()
        let w = try RegtestChainWriter(directory: s.root + "/regtest/blocks", key: Self.key)
        try w.append(4, transactions: 2)
        let b = w.blocks[4]  // segwit (every second block)
        // Transaction 1 (the last) has the witness: its last item ends 4 bytes before the end.
        try s.flipBit("regtest/blocks/" + b.file, at: Int(b.offset) + b.size - 10)
        let report = try s.verify()
        let bad = report.problems.filter { $0.kind != .info }
        #expect(bad.count == 1 && bad.first?.height == 4, "\(report.problems.map(\.line))")
        #expect(bad.first?.what.contains("witness commitment mismatch") == true)
    }

    @Test func aRecordCutShortIsTruncatedInTheActiveFileAndCorruptElsewhere() throws {
        let s = try ChainScratch()
        let w = try chain(s, blocks: 40, maxFileSize: 4096, preallocate: false)
        let files = Set(w.blocks.map(\.file)).sorted()
        #expect(files.count >= 3)
        for (file, kind) in [(files.last!, ChainProblem.Kind.truncated), (files.first!, .corrupt)] {
            let bytes = try s.read("regtest/blocks/" + file)
            try s.write("regtest/blocks/" + file, Array(bytes.dropLast(5)))
            let report = try s.verify()
            let cut = report.problems.filter { $0.kind != .info }
            #expect(cut.first?.kind == kind, "\(report.problems.map(\.line))")
            #expect(cut.first?.file == "regtest/blocks/" + file)
            try s.write("regtest/blocks/" + file, bytes)
        }
    }

    @Test func aMissingRunOfBlocksLongerThanTheDownloadWindowIsAGap() throws {
        let s = try ChainScratch()
        let w = try RegtestChainWriter(directory: s.root + "/blocks", key: nil, maxFileSize: 8_000)
        try w.append(1300, transactions: 1, payload: 10, segwitEvery: 0)
        let second = w.blocks.first { $0.file != "blk00000.dat" }!.file
        let lostBlocks = w.blocks.filter { $0.file == second }.count
        try FileManager.default.removeItem(atPath: s.root + "/blocks/" + second)
        try FileManager.default.removeItem(atPath: s.root + "/blocks/rev" + second.dropFirst(3))
        let report = try s.verify()
        let gaps = report.problems.filter { $0.kind == .gap }
        #expect(gaps.count == 1, "\(report.problems.map(\.line))")
        #expect(report.height == UInt64(w.blocks.filter { $0.file == "blk00000.dat" }.count - 1))
        #expect(1300 - Int(report.height!) - lostBlocks > ChainWalk.downloadWindow)
    }

    @Test func anIncrementalRunReadsOnlyWhatWasAppended() throws {
        let s = try ChainScratch()
        let w = try chain(s, blocks: 100)
        var state = ChainVerifyState(profile: "bitcoind")
        let first = try s.verify(&state)
        #expect(first.valid && first.height == 100)
        try w.append(150)
        let appended = UInt64(
            w.blocks.suffix(150).reduce(0) { $0 + $1.size } + w.undo.suffix(150).reduce(0) { $0 + $1.size })
        let second = try s.verify(&state)
        #expect(second.problems.isEmpty, "\(second.problems.map(\.line))")
        #expect(second.height == 250 && second.tipHash == w.tipHash)
        #expect(second.bytesChecked == appended)
        // Nothing new: nothing read, the height still the full one.
        let third = try s.verify(&state)
        #expect(third.bytesChecked == 0 && third.height == 250 && third.valid)
        // A rewrite before the verified mark (inside its checkpoint window) is corruption.
        let last = w.blocks.last!
        try s.flipBit("regtest/blocks/" + last.file, at: Int(last.offset) + 100)
        let fourth = try s.verify(&state)
        #expect(!fourth.valid)
        #expect(fourth.problems.contains { $0.kind == .corrupt && $0.what.contains("have changed since") })
    }
}
