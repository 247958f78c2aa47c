import Foundation
import Testing
@testable import VaultChain

@Suite(.enabled(if: ChainFixtures.present, "the chain fixtures (Tests/ChainFixtures) are absent"))
struct CometBFTTests {
    static func state(_ name: String) throws -> [UInt8] {
        try ChainFixtures.bytes("priv_validator_state." + name + ".json")
    }

    @Test func theRealStatesParse() throws {
        let two = ValidatorSigningState(height: 2, round: 0, step: 3)
        let zero = ValidatorSigningState(height: 0, round: 0, step: 0)
        #expect(try ValidatorSigningState(json: Self.state("height2")) == two)
        #expect(try ValidatorSigningState(json: Self.state("height0")) == zero)
    }

    @Test(arguments: [
        (
            "{\"height\":\"-1\",\"round\":0,\"step\":0}",
            "validator state height is not an integer in 0...9223372036854775807"
        ),
        ("{\"height\":\"2\",\"round\":0,\"step\":4}", "validator state step is not an integer in 0...3"),
        ("{\"height\":\"2\",\"round\":true,\"step\":1}", "validator state round is not an integer in 0...2147483647"),
        ("{\"height\":\"2\",\"round\":0.5,\"step\":1}", "validator state round is not an integer in 0...2147483647"),
        ("{\"round\":0,\"step\":1}", "validator state has no height"),
        ("[1,2]", "validator state is not a JSON object with height, round and step")
    ])
    func badStatesAreRefusedWithTheirReason(json: String, message: String) {
        #expect(throws: ValidatorSigningState.ParseError(message)) { try ValidatorSigningState(json: Array(json.utf8)) }
    }

    @Test func theOrderIsHeightThenRoundThenStep() {
        let a = ValidatorSigningState(height: 7, round: 0, step: 1)
        #expect(a < ValidatorSigningState(height: 7, round: 0, step: 2))
        #expect(a < ValidatorSigningState(height: 7, round: 1, step: 0))
        #expect(a < ValidatorSigningState(height: 8, round: 0, step: 0))
        let eight = ValidatorSigningState(height: 8, round: 0, step: 0)
        #expect(!(eight < ValidatorSigningState(height: 7, round: 9, step: 3)))
    }

    @Test func restoreKeepsTheHigherState() throws {
        let high = try Self.state("height2"), low = try Self.state("height0")
        #expect(ValidatorSigningState.keepHigher(live: low, snapshot: high) == (.takeSnapshot, nil))
        #expect(ValidatorSigningState.keepHigher(live: high, snapshot: low) == (.keepLive, nil))
        #expect(ValidatorSigningState.keepHigher(live: high, snapshot: high) == (.keepLive, nil))
        let broken = ValidatorSigningState.keepHigher(live: Array("{\"height\":".utf8), snapshot: high)
        #expect(broken.choice == .keepLive)
        #expect(broken.warning?.hasPrefix("live validator state does not parse") == true)
        #expect(ValidatorSigningState.keepHigher(live: high, snapshot: [0xff]).choice == .keepLive)
        let chosen = ValidatorSigningState.choose(
            relativePath: "data/priv_validator_state.json", live: low, snapshot: high)
        #expect(chosen.choice == .takeSnapshot)
        let other = ValidatorSigningState.choose(relativePath: "config/node_key.json", live: low, snapshot: high)
        #expect(other.choice == .keepLive)
    }

    @Test func theProfileDetectsAHomeAndReportsARollback() throws {
        let d = TempDir()
        try d.write("config/genesis.json", Array("{}".utf8))
        try d.write("data/priv_validator_state.json", Self.state("height2"))
        let source = DirectorySource(root: d.path)
        let profile = CometBFTProfile()
        #expect(profile.detect(source))
        #expect(!GethProfile().detect(source))
        var state = ChainVerifyState(profile: "cometbft")
        let first = try profile.verify(source, state: &state)
        #expect(first.valid && first.height == 2)
        try d.write("data/priv_validator_state.json", Self.state("height0"))
        let second = try profile.verify(source, state: &state)
        #expect(second.problems.map(\.kind) == [.rollback])
        #expect(
            second.problems.first?.what
                == "validator state went down from height 2 round 0 step 3 to height 0 round 0 step 0")
        try d.write("data/priv_validator_state.json", Array("not json".utf8))
        #expect(try profile.verify(source, state: &state).problems.map(\.kind) == [.corrupt])
    }

    @Test func registrationAddsBothProfilesOnce() {
        ChainProfiles.registerGethAndCometBFT()
        ChainProfiles.registerGethAndCometBFT()
        #expect(ChainProfiles.all.filter { $0.name == "geth" }.count == 1)
        #expect(ChainProfiles.named("cometbft") != nil)
    }
}
