import Foundation
import VaultCore
import VaultDaemon

enum HealthCommand: Command {
    static let name = "health"
    static let summary = "Nagios/Icinga check of the daemon: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN"
    static let help = """
        Usage: chainvault health [--policy P] [-w AGE] [-c AGE] [--url http://127.0.0.1:9797]
                                 [--token-file FILE] [--json]

        Asks the daemon for /v1/status and prints one line, CHAINVAULT OK|WARNING|CRITICAL|UNKNOWN,
        with perfdata (age_<policy>=<seconds>s;warn;crit;0, or U for a policy never backed up).
        CRITICAL: a policy never backed up, or its last success is older than -c (default: twice
        its RPO), or verify found errors. WARNING: older than -w (default: its RPO), or its last
        run failed. UNKNOWN: the daemon cannot be reached, or it wants a monitor token. With --json,
        the same verdict per policy as one JSON object; the exit code is the same.

        /v1/status needs a token of the role monitor, read from a file (never given on the command
        line): --token-file FILE, else the file $CHAINVAULT_TOKEN_FILE names, else
        $CREDENTIALS_DIRECTORY/monitor.token (a unit with LoadCredential=monitor.token:FILE). The file
        may be readable by the monitoring user's group, not by every user.
        """
    static let spec = ArgumentSpec(
        valued: ["--policy", "--warning", "--critical", "--url", "--token-file"],
        positionalsAllowed: 0...0,
        aliases: ["-w": "--warning", "-c": "--critical"])

    static func run(_ c: Context) throws -> Int32 {
        let result: HealthCheck.Result
        do { result = try check(c) } catch {
            let e = error as? VaultError
            result = HealthCheck.unknown(e.map { $0.message + ($0.hint.map { "; hint: " + $0 } ?? "") } ?? "\(error)")
        }
        if c.out.json { c.out.emit(result) } else { print(result.line) }
        return result.exitCode
    }

    static func check(_ c: Context) throws -> HealthCheck.Result {
        let url = c.args.value("--url") ?? "http://127.0.0.1:9797"
        guard url.hasPrefix("http://") else { throw VaultError(.usage, "--url must be http://HOST:PORT") }
        let hostPort = url.dropFirst(7).split(separator: "/").first.map(String.init) ?? ""
        let (host, port) = try DaemonConfig.parseListen(hostPort)
        let check = HealthCheck(
            warningSeconds: try c.args.value("--warning").map(parseDuration),
            criticalSeconds: try c.args.value("--critical").map(parseDuration),
            onlyPolicy: c.args.value("--policy"))
        let token = try MonitorToken.locate(option: c.args.value("--token-file"), env: c.environment)
            .map { (path: $0.path, bytes: try MonitorToken.read($0.path, described: $0.described)) }
        guard
            let response = HTTPClient.get(host: host, port: port, path: "/v1/status", bearer: token?.bytes, timeout: 5)
        else {
            return HealthCheck.unknown("the daemon at \(hostPort) cannot be reached (is chainvault.service running?)")
        }
        if response.status == 401 {
            guard let token else {
                return HealthCheck.unknown("the daemon needs a monitor token: " + MonitorToken.ways)
            }
            return HealthCheck.unknown(
                "the daemon refused the token in \(token.path) (401): "
                    + "it is none of the daemon's \"tokens\" (check the file, or reload the daemon)")
        }
        guard response.status == 200,
            let status = try? JSONDecoder().decode(HealthCheck.Status.self, from: Data(response.body))
        else {
            return HealthCheck.unknown("the daemon at \(hostPort) answered \(response.status) to /v1/status")
        }
        return check.evaluate(status)
    }
}
