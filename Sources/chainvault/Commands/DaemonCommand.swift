import Foundation
import VaultCore
import VaultDaemon

enum DaemonCommand: Command {
    static let name = "daemon"
    static let summary = "run the service: scheduled backups, verify, drills, health and metrics"
    static let help = """
    Usage: chainvault daemon --config /etc/chainvault/chainvault.json

    Runs every policy in the config's policies directory on its schedule, one job at a time;
    serves /livez, /readyz, /metrics and /v1/status (and the token-protected API) on the listen
    address (default 127.0.0.1:9797); notifies systemd (Type=notify, watchdog); writes the
    hash-chained audit log in the state directory. SIGTERM stops the running job at a safe
    point; SIGHUP reloads config and policies (a bad new config keeps the old one running).
    """
    static let spec = ArgumentSpec(valued: ["--config"], positionalsAllowed: 0...0)

    static func run(_ c: Context) throws -> Int32 {
        let path = c.args.value("--config") ?? "/etc/chainvault/chainvault.json"
        let daemon = try Daemon(configPath: path, stopRequested: c.cancellation)
        return daemon.run()
    }
}

enum HealthCommand: Command {
    static let name = "health"
    static let summary = "Nagios/Icinga check of the daemon: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN"
    static let help = """
    Usage: chainvault health [--policy P] [-w AGE] [-c AGE] [--url http://127.0.0.1:9797]

    Asks the daemon for /v1/status and prints one line, CHAINVAULT OK|WARNING|CRITICAL|UNKNOWN,
    with perfdata. CRITICAL: a policy never backed up, or its last success is older than -c
    (default: twice its RPO), or verify found errors. WARNING: older than -w (default: its
    RPO), or its last run failed. UNKNOWN: the daemon cannot be reached.
    """
    static let spec = ArgumentSpec(valued: ["--policy", "--warning", "--critical", "--url"], positionalsAllowed: 0...0,
                                   aliases: ["-w": "--warning", "-c": "--critical"])

    struct Status: Decodable {
        struct Policy: Decodable {
            let name: String; let ageSeconds: Double?; let rpoSeconds: Double; let lastOutcome: String?; let lastVerifyErrors: Int; let lastError: String?
        }
        let ready: Bool
        let policies: [Policy]
    }

    static func run(_ c: Context) throws -> Int32 {
        do { return try check(c) } catch {
            print("CHAINVAULT UNKNOWN: \((error as? VaultError)?.message ?? "\(error)")")
            return 3
        }
    }

    static func check(_ c: Context) throws -> Int32 {
        let url = c.args.value("--url") ?? "http://127.0.0.1:9797"
        guard url.hasPrefix("http://") else { throw VaultError(.usage, "--url must be http://HOST:PORT") }
        let hostPort = url.dropFirst(7).split(separator: "/").first.map(String.init) ?? ""
        let (host, port) = try DaemonConfig.parseListen(hostPort)
        let warning = try c.args.value("--warning").map(Duration.parse)
        let critical = try c.args.value("--critical").map(Duration.parse)
        guard let response = HTTPClient.get(host: host, port: port, path: "/v1/status", timeout: 5) else {
            print("CHAINVAULT UNKNOWN: the daemon at \(hostPort) cannot be reached (is chainvault.service running?)")
            return 3
        }
        guard response.status == 200, let status = try? JSONDecoder().decode(Status.self, from: Data(response.body)) else {
            print("CHAINVAULT UNKNOWN: the daemon at \(hostPort) answered \(response.status) to /v1/status")
            return 3
        }
        var policies = status.policies
        if let only = c.args.value("--policy") {
            policies = policies.filter { $0.name == only }
            guard !policies.isEmpty else { print("CHAINVAULT UNKNOWN: no policy \(only)"); return 3 }
        }
        var level = 0
        var messages: [String] = []
        var perf: [String] = []
        for p in policies {
            let w = warning ?? p.rpoSeconds, cr = critical ?? 2 * p.rpoSeconds
            perf.append("age_\(p.name)=\(Int(p.ageSeconds ?? -1))s;\(Int(w));\(Int(cr));0")
            guard let age = p.ageSeconds else { level = max(level, 2); messages.append("\(p.name) never backed up"); continue }
            if age > cr { level = max(level, 2); messages.append("\(p.name) last backup \(Int(age / 60)) min ago (critical over \(Int(cr / 60)))") }
            else if age > w { level = max(level, 1); messages.append("\(p.name) last backup \(Int(age / 60)) min ago (late over \(Int(w / 60)))") }
            if p.lastVerifyErrors > 0 { level = max(level, 2); messages.append("\(p.name) verify found \(p.lastVerifyErrors) problem(s)") }
            if p.lastOutcome == "failed" { level = max(level, 1); messages.append("\(p.name) last run failed: \(p.lastError ?? "")") }
        }
        if !status.ready { level = max(level, 1); messages.append("daemon not ready (see /readyz?verbose)") }
        let names = ["OK", "WARNING", "CRITICAL"]
        let text = messages.isEmpty ? "\(policies.count) policies backed up within their RPO" : messages.joined(separator: "; ")
        print("CHAINVAULT \(names[level]): \(text) | \(perf.joined(separator: " "))")
        return Int32(level)
    }
}
