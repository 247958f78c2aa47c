import Foundation
import Testing

/// A CLI restore without --protect rolled a height-7 validator state back to height 2: that is how
/// validators get slashed. Now the signing state is always protected, and the higher one wins.
@Suite struct ValidatorStateRestoreTests {
    static func state(_ height: Int, round: Int = 0, step: Int = 3) -> [UInt8] {
        Array("{\n  \"height\": \"\(height)\",\n  \"round\": \(round),\n  \"step\": \(step)\n}\n".utf8)
    }

    func node(_ w: Workspace, height: Int) throws -> String {
        try w.write("node/config/genesis.json", Array("{\"chain_id\":\"test\"}".utf8))
        try w.write("node/data/blockstore.db/000001.log", Array(repeating: 5, count: 10_000))
        try w.write("node/data/priv_validator_state.json", Self.state(height), mode: 0o600)
        return w.path("node")
    }

    func liveState(_ w: Workspace) -> String {
        String(
            decoding: FileManager.default.contents(atPath: w.path("node/data/priv_validator_state.json")) ?? Data(),
            as: UTF8.self)
    }

    @Test(arguments: ["--delta", "--force"])
    func aRestoreNeverLowersTheSigningStateButTakesAHigherOne(_ mode: String) throws {
        let w = try Workspace()
        try w.ok(["init"])
        let src = try node(w, height: 2)
        try w.ok(["backup", src])
        // The validator signed on to height 7 after the backup; its database got corrupted.
        try w.write("node/data/priv_validator_state.json", Self.state(7), mode: 0o600)
        try w.write("node/data/blockstore.db/000001.log", Array(repeating: 6, count: 10_000))
        let r = try w.ok(["restore", "latest", "--target", src, mode])
        #expect(liveState(w).contains("\"7\""), "the signing state went back: \(liveState(w))")
        #expect(
            FileManager.default.contents(atPath: w.path("node/data/blockstore.db/000001.log"))
                == Data(repeating: 5, count: 10_000))
        #expect(r.stderr.contains("priv_validator_state.json"), "\(r.stderr)")

        // A live state lower than the snapshot's (reset by hand, a wrong copy): the snapshot's wins.
        // It moves forward, said as such, not as a possible double-sign (outside tester, session 10).
        try w.write("node/data/priv_validator_state.json", Self.state(1), mode: 0o600)
        let forward = try w.ok(["restore", "latest", "--target", src, mode])
        #expect(liveState(w).contains("\"2\""), "\(liveState(w))")
        #expect(forward.stderr.contains("its signing state is higher than the live copy's"), "\(forward.stderr)")
        #expect(!forward.stderr.contains("double-sign"), "\(forward.stderr)")
    }
}
