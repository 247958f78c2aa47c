import Foundation
import Testing

/// Issue 13: `chainvault demo` shows the chain check catching a flipped bit that byte-level
/// verification cannot see (a snapshot of the flipped copy passes `verify --read-data`).
@Suite struct DemoFlippedBitTests {
    @Test func theDemoShowsTheChainCheckCatchingABitThatVerifyReadDataPasses() throws {
        let ws = try Workspace()
        try FileManager.default.createDirectory(atPath: ws.path("work"), withIntermediateDirectories: true)
        let r = try ws.run(["demo", "--size", "8M", "--workdir", ws.path("work")])
        #expect(r.code == 0, "\(r.stdout)\(r.stderr)")
        let line = r.stdout.split(separator: "\n").first { $0.hasPrefix("a flipped bit") }.map(String.init) ?? ""
        #expect(
            line.contains("verify --read-data clean; chain check: corrupt: blocks/blk00000.dat offset "), "\(r.stdout)")
        #expect(line.contains("merkle root mismatch"), "\(line)")
        #expect(r.stdout.contains("demo OK"))
    }
}
