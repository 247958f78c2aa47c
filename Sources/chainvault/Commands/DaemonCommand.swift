import Foundation
import VaultCore
import VaultDaemon
import VaultRepository

enum DaemonCommand: Command {
    static let name = "daemon"
    static let summary = "run the service: scheduled backups, verify, drills, health and metrics"
    static let help = """
        Usage: chainvault daemon --config /etc/chainvault/chainvault.json

        Runs every policy in the config's policies directory on its schedule, one job at a time;
        serves /livez, /readyz, /metrics (open) and /v1/status (monitor token) and the API on the listen
        address (default 127.0.0.1:9797); notifies systemd (Type=notify, watchdog); writes the
        hash-chained audit log in the state directory. SIGTERM stops the running job at a safe
        point; SIGHUP reloads config and policies (a bad new config keeps the old one running).
          --check-secret FILE  only check that FILE (a key or token) is readable by its owner only,
                          and exit: the unit's ExecStartPre runs it on the files LoadCredential
                          copies, since the copy the daemon sees has safe modes whatever the source's
        """
    static let spec = ArgumentSpec(valued: ["--config", "--check-secret"], positionalsAllowed: 0...0)

    static func run(_ c: Context) throws -> Int32 {
        let secrets = c.args.all("--check-secret")
        if !secrets.isEmpty {
            for path in secrets { _ = try Credential.keyFile(path) }
            return 0
        }
        let path = c.args.value("--config") ?? "/etc/chainvault/chainvault.json"
        let daemon = try Daemon(configPath: path, stopRequested: c.cancellation)
        return daemon.run()
    }
}
