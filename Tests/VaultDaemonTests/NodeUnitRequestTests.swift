import Foundation
import Testing
import VaultCore
import VaultDaemon

/// What the root hook helper accepts: exactly the start/stop requests the policies' hooks name,
/// as unit names and nothing that systemctl could read as an option or a pattern.
struct NodeUnitRequestTests {
    @Test(arguments: ["stop bitcoind", "start bitcoind.service", "stop solana-validator@main.service"])
    func wellFormedRequestsParse(_ line: String) throws {
        let r = try NodeUnitRequest(line: line)
        #expect(r.unit.hasSuffix(".service"))
    }

    @Test(arguments: [
        "stop", "restart bitcoind", "stop --all", "stop *", "stop ../x", "stop a b", "stop bit coind", "kill bitcoind"
    ])
    func anythingElseIsRefused(_ line: String) {
        #expect(throws: VaultError.self) { try NodeUnitRequest(line: line) }
    }

    @Test func onlyTheHooksPoliciesNameArePermitted() throws {
        let policy = try PolicyLoader.load(
            URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().path + "/Policies/bitcoind.json")
        let permitted = NodeUnitRequest.permitted(by: [policy])
        #expect(permitted == [try NodeUnitRequest(line: "stop bitcoind"), try NodeUnitRequest(line: "start bitcoind")])
        #expect(!permitted.contains(try NodeUnitRequest(line: "stop sshd")))
        #expect(NodeUnitRequest.named(by: ["systemctl", "stop", "bitcoind"]) == nil)
        #expect(NodeUnitRequest.named(by: ["/usr/bin/chainvault", "node", "stop", "geth"])?.unit == "geth.service")
    }
}
