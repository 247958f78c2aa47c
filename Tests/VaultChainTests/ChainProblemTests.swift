import Testing
@testable import VaultChain

@Suite struct ChainProblemTests {
    @Test func aReportWithOnlyInformationIsValid() {
        var report = ChainReport(profile: "bitcoind")
        report.problems.append(ChainProblem(.info, file: "blocks/blk00000.dat", offset: 8, "stale block"))
        #expect(report.valid)
        report.problems.append(
            ChainProblem(
                .corrupt, file: "blocks/blk00000.dat", offset: 293, height: 1,
                blockHash: "00ab", "merkle root mismatch"))
        #expect(!report.valid)
        #expect(
            report.problems[1].line
                == "corrupt: blocks/blk00000.dat offset 293 height 1 (block 00ab): merkle root mismatch")
    }
}
