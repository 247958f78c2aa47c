import Foundation
import VaultCore
import VaultDaemon

/// Node start/stop for policy hooks without giving the daemon privileges: the unprivileged daemon
/// asks, the root helper behind chainvault-hook.socket checks the policies and runs systemctl.
enum NodeCommand: Command {
    static let name = "node"
    static let summary = "start or stop a node's unit from a policy hook, through the root helper"
    static let help = """
        Usage: chainvault node stop|start UNIT [--socket /run/chainvault-hook.sock]
               chainvault node serve [--config /etc/chainvault/chainvault.json]

        stop/start: asks the helper behind chainvault-hook.socket to run 'systemctl stop|start UNIT'
        and waits for it; use it as a policy's hook: "pre": ["chainvault", "node", "stop", "bitcoind"].
        serve: the helper itself (chainvault-hook@.service, as root, the connection on stdin and
        stdout): it runs a request only when a policy in the config's policies directory names that
        exact hook, so the daemon's user can stop and start the nodes its policies name, nothing else.
        """
    static let spec = ArgumentSpec(valued: ["--socket", "--config"], positionalsAllowed: 1...2)

    static func run(_ c: Context) throws -> Int32 {
        let verb = c.args.positionals[0]
        if verb == "serve" {
            guard c.args.positionals.count == 1 else { throw VaultError(.usage, "node serve takes no unit") }
            let answer = NodeUnitHelper.serve(
                input: 0, output: 1, configPath: c.args.value("--config") ?? "/etc/chainvault/chainvault.json")
            FileHandle.standardError.write(
                Data("<\(answer == "ok" ? 6 : 3)>event=node-hook answer=\"\(answer)\"\n".utf8))
            return answer == "ok" ? 0 : ErrorCode.failure.rawValue
        }
        guard let v = NodeUnitRequest.Verb(rawValue: verb), c.args.positionals.count == 2 else {
            throw VaultError(.usage, "node needs stop UNIT, start UNIT or serve", hint: "chainvault node stop bitcoind")
        }
        let request = try NodeUnitRequest(verb: v, unit: c.args.positionals[1])
        try NodeUnitClient.send(request, socketPath: c.args.value("--socket") ?? NodeUnitRequest.defaultSocket)
        return 0
    }
}
