import Foundation
import VaultCore
import VaultDaemon

enum HealthCommand: Command {
    static let name = "health"
    static let summary = "Nagios/Icinga check of the daemon: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN"
    static let help = """
    Usage: chainvault health [--policy P] [-w AGE] [-c AGE] [--url http://127.0.0.1:9797] [--json]

    Asks the daemon for /v1/status and prints one line, CHAINVAULT OK|WARNING|CRITICAL|UNKNOWN,
    with perfdata (age_<policy>=<seconds>s;warn;crit;0, or U for a policy never backed up).
    CRITICAL: a policy never backed up, or its last success is older than -c (default: twice
    its RPO), or verify found errors. WARNING: older than -w (default: its RPO), or its last
    run failed. UNKNOWN: the daemon cannot be reached. With --json, the same verdict per policy
    as one JSON object; the exit code is the same.
    """
    static let spec = ArgumentSpec(valued: ["--policy", "--warning", "--critical", "--url"], positionalsAllowed: 0...0,
                                   aliases: ["-w": "--warning", "-c": "--critical"])

    static func run(_ c: Context) throws -> Int32 {
        let result: HealthCheck.Result
        do { result = try check(c) } catch {
            result = HealthCheck.unknown((error as? VaultError)?.message ?? "\(error)")
        }
        if c.out.json { c.out.emit(result) } else { print(result.line) }
        return result.exitCode
    }

    static func check(_ c: Context) throws -> HealthCheck.Result {
        let url = c.args.value("--url") ?? "http://127.0.0.1:9797"
        guard url.hasPrefix("http://") else { throw VaultError(.usage, "--url must be http://HOST:PORT") }
        let hostPort = url.dropFirst(7).split(separator: "/").first.map(String.init) ?? ""
        let (host, port) = try DaemonConfig.parseListen(hostPort)
        let check = HealthCheck(warningSeconds: try c.args.value("--warning").map(parseDuration),
                                criticalSeconds: try c.args.value("--critical").map(parseDuration),
                                onlyPolicy: c.args.value("--policy"))
        guard let response = HTTPClient.get(host: host, port: port, path: "/v1/status", timeout: 5) else {
            return HealthCheck.unknown("the daemon at \(hostPort) cannot be reached (is chainvault.service running?)")
        }
        guard response.status == 200,
              let status = try? JSONDecoder().decode(HealthCheck.Status.self, from: Data(response.body)) else {
            return HealthCheck.unknown("the daemon at \(hostPort) answered \(response.status) to /v1/status")
        }
        return check.evaluate(status)
    }
}
