import Foundation
import Testing
import VaultCore

/// The demo's node data is a valid chain for its profile: its blocks were synthetic (no proof of
/// work, transaction counts that did not match the bytes) and its CometBFT signing state was under
/// `config/`, so every chain check of the demo's snapshots failed.
@Suite struct DemoChainTests {
    @Test func theDemosSnapshotsPassTheChainCheckBeforeAndAfterADayOfActivity() throws {
        let ws = try Workspace()
        let node = ws.path("node")
        try ws.ok(["demo", "--generate", node, "--size", "16M"])
        #expect(FileManager.default.fileExists(atPath: node + "/data/priv_validator_state.json"))
        let live = try ws.run(["chain", "verify", node, "--chain", "bitcoind", "--full", "--json"])
        #expect(live.code == 0, "\(live.stdout)\(live.stderr)")
        let height = live.json["height"] as? Int ?? 0
        #expect(height >= 60, "\(live.stdout)")
        try ws.ok(["init"])
        try ws.ok(["backup", node])
        try ws.ok(["demo", "--advance", node, "--size", "16M"])
        try ws.ok(["backup", node])
        let stored = try ws.run(["verify", "--chain", "bitcoind", "--json"])
        #expect(stored.code == 0, "\(stored.stdout)\(stored.stderr)")
        let again = try ws.run(["chain", "verify", node, "--chain", "bitcoind", "--full", "--json"])
        #expect(again.code == 0 && again.json["height"] as? Int ?? 0 > height, "\(again.stdout)")
        // The signing state is where CometBFT keeps it, so its profile reads it (a day = 14,400 heights).
        let validator = try ws.run(["chain", "verify", node, "--chain", "cometbft", "--json"])
        #expect(
            validator.code == 0 && validator.json["height"] as? Int == 15_400, "\(validator.stdout)\(validator.stderr)")
    }
}
