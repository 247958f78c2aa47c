import Foundation
import Glibc
import S3TestSupport
import Testing
import VaultDaemon

/// The daemon, end to end, through the built binary: scheduled backups, every endpoint, the API
/// with and without its token, a restore through the API, systemd notifications, a bad reload,
/// SIGTERM, and the audit log.
struct DaemonTests {
    final class Notifications {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        let path = NSTemporaryDirectory() + "cv-notify-\(UUID().uuidString.prefix(8)).sock"
        init() {
            var a = sockaddr_un()
            a.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &a.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
            _ = withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        }
        deinit { close(fd); unlink(path) }
        func drain() -> [String] {
            var out: [String] = [], buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0); if n <= 0 { break };
                out.append(String(decoding: buffer[0..<n], as: UTF8.self))
            }
            return out
        }
    }

    func get(_ port: UInt16, _ path: String) -> (Int, String) {
        let r = HTTPClient.get(host: "127.0.0.1", port: port, path: path, timeout: 5)
        return (r?.status ?? 0, r.map { String(decoding: $0.body, as: UTF8.self) } ?? "")
    }

    /// The monitor token every daemon these tests configure accepts (`monitorTokenEntry`):
    /// /v1/status needs the monitor role (issue 14).
    static let monitorToken = "monitor-" + String(repeating: "3c", count: 20)

    /// Writes `monitor.token` (mode 0600) and returns the config's `tokens` entry naming it.
    func monitorTokenEntry(_ w: Workspace) throws -> String {
        try w.write("monitor.token", Array(Self.monitorToken.utf8), mode: 0o600)
        return "{\"name\":\"monitor\",\"role\":\"monitor\",\"file\":\"\(w.path("monitor.token"))\"}"
    }

    /// GET /v1/status with the monitor token; the status and the body.
    func status(_ port: UInt16) -> (Int, String) {
        request(port, "GET", "/v1/status", token: Self.monitorToken)
    }

    func post(_ port: UInt16, _ path: String, token: String?, body: String = "") -> (Int, String) {
        request(port, "POST", path, token: token, body: body)
    }

    /// Any method, with or without a token, on a connection of its own; the status and the body.
    func request(_ port: UInt16, _ method: String, _ path: String, token: String?, body: String = "") -> (Int, String) {
        let text = response(port, method, path, token: token, body: body)
        let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
        return (status, text.components(separatedBy: "\r\n\r\n").dropFirst().joined())
    }

    /// The whole response, status line and headers included.
    func response(_ port: UInt16, _ method: String, _ path: String, token: String?, body: String = "") -> String {
        let fd = connectTo(port)
        defer { close(fd) }
        var request = "\(method) \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n"
        if let token { request += "Authorization: Bearer \(token)\r\n" }
        request += "\r\n" + body
        _ = Array(request.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var out: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 4096)
        while true { let n = recv(fd, &buffer, buffer.count, 0); if n <= 0 { break }; out += buffer[0..<n] }
        return String(decoding: out, as: UTF8.self)
    }

    func connectTo(_ port: UInt16) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET); a.sin_port = port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr)
        _ = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return fd
    }

    func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline { if condition() { return true }; usleep(100_000) }
        return condition()
    }

    /// A node of `nodeSize`, a repository, an API token (admin), the monitor token, the policy
    /// `policies/demo.json` (`livePolicy` unless given) and `config.json` naming them all; returns
    /// the port, the admin token and the config text.
    func prepareDaemon(_ w: Workspace, nodeSize: String, policy: String? = nil) throws -> (UInt16, String, String) {
        try w.ok(["demo", "--generate", w.path("node"), "--size", nodeSize])
        try w.ok(["init"])
        let token = try adminToken(w)
        let port = TestPorts.take()
        try w.write("policies/demo.json", Array((policy ?? livePolicy(w)).utf8))
        let config = try writeDaemonConfig(w, port: port, extra: "\"restoreRoots\":[\"\(w.root)\"]")
        return (port, token, config)
    }

    /// A fresh admin token in `token` (mode 0600), as `writeDaemonConfig` names it.
    func adminToken(_ w: Workspace) throws -> String {
        let token = "token-" + UUID().uuidString
        try w.write("token", Array(token.utf8), mode: 0o600)
        return token
    }

    /// Writes `config.json` for a daemon on `port`: the workspace's repository (or `repository`),
    /// key and `policies/`, the monitor token, the admin token `token` unless `admin` is false,
    /// state in `stateDirectory`, and `extra` JSON members. Returns the text.
    @discardableResult
    func writeDaemonConfig(
        _ w: Workspace, port: UInt16, repository: String? = nil, stateDirectory: String = "state",
        admin: Bool = true, extra: String = ""
    ) throws -> String {
        var members = [
            "\"repository\":\"\(repository ?? w.repo)\"", "\"keyFile\":\"\(w.key)\"",
            "\"policies\":\"\(w.path("policies"))\"", "\"listen\":\"127.0.0.1:\(port)\""
        ]
        if admin { members.append("\"apiTokenFile\":\"\(w.path("token"))\"") }
        members += ["\"tokens\":[\(try monitorTokenEntry(w))]", "\"stateDirectory\":\"\(w.path(stateDirectory))\""]
        if !extra.isEmpty { members.append(extra) }
        let config = "{" + members.joined(separator: ",") + "}"
        try w.write("config.json", Array(config.utf8))
        return config
    }

    /// The policy most daemon tests back up: live mode, a backup a day (the first at start, then
    /// only what a test triggers), three kept, an RPO of two days; `extra` adds JSON members.
    func livePolicy(_ w: Workspace, name: String = "demo", source: String? = nil, extra: String = "") -> String {
        let more = extra.isEmpty ? "" : "," + extra.trimmingCharacters(in: .whitespacesAndNewlines)
        return "{\"name\":\"\(name)\",\"source\":\"\(source ?? w.path("node"))\",\"consistency\":{\"mode\":\"live\"},"
            + "\"schedule\":{\"every\":\"24h\"},\"retention\":{\"keepLast\":3},\"rpo\":\"48h\"\(more)}"
    }

    @Test func theDaemonRunsPoliciesServesHealthAndStopsCleanly() throws {
        let w = try Workspace()
        let (port, token, config) = try prepareDaemon(
            w, nodeSize: "8M",
            policy: """
                {"name":"demo","source":"\(w.path("node"))","consistency":{"mode":"two-phase","pre":["true"],"post":["true"]},
                 "schedule":{"every":"2s"},"retention":{"keepLast":3},"verify":{"every":"3s","readAllWithinDays":1},"rpo":"1m",
                 "protect":["config/priv_validator_state.json"],"restoreDrill":{"every":"4s"}}
                """)
        let notify = Notifications()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Workspace.binary)
        p.arguments = ["daemon", "--config", w.path("config.json")]
        p.environment = w.environment.merging(["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"]) { $1 }
        let stderr = Pipe()
        p.standardError = stderr
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }

        #expect(waitFor(10) { get(port, "/livez").0 == 200 })
        #expect(
            waitFor(15) {
                get(port, "/metrics").1.contains("chainvault_backup_runs_total{policy=\"demo\",result=\"succeeded\"} 2")
                    || get(port, "/metrics").1.contains(
                        "chainvault_backup_runs_total{policy=\"demo\",result=\"succeeded\"} 3")
            }, "two scheduled backups happen")
        let messages = notify.drain()
        #expect(messages.contains { $0.hasPrefix("READY=1") })
        #expect(messages.contains("WATCHDOG=1"))

        #expect(get(port, "/readyz").0 == 200)
        #expect(get(port, "/readyz?verbose").1.contains("[+]repository"))
        let metrics = get(port, "/metrics").1
        for name in [
            "chainvault_build_info", "chainvault_backup_last_success_timestamp_seconds",
            "chainvault_backup_rpo_breached{policy=\"demo\"} 0",
            "chainvault_node_last_downtime_seconds", "chainvault_verify_last_success_timestamp_seconds",
            "chainvault_restore_drill_last_duration_seconds"
        ] {
            #expect(metrics.contains(name), "\(name) in /metrics")
        }
        // Every series once, and promtool (Debian's prometheus package, installed by .ci/setup) agrees.
        let series = metrics.split(separator: "\n").filter { !$0.hasPrefix("#") }.map {
            $0.split(separator: " ").dropLast().joined(separator: " ")
        }
        #expect(Set(series).count == series.count, "duplicate series in /metrics")
        if let promtool = tool("promtool") {
            let (code, out, err) = try runTool(promtool, ["check", "metrics"], stdin: metrics)
            #expect(code == 0, "promtool: \(out) \(err)")
        }
        let status = try JSONSerialization.jsonObject(with: Data(self.status(port).1.utf8)) as? [String: Any]
        #expect(((status?["policies"] as? [[String: Any]])?.first?["late"] as? Bool) == false)
        #expect(get(port, "/nope").0 == 404)
        #expect(post(port, "/livez", token: nil).0 == 405)
        // A known path with the wrong method names the methods it has (RFC 9110 §15.5.6), before
        // any token is asked for; an unknown one is 404 whatever the method.
        let wrongMethod = response(port, "POST", "/livez", token: nil)
        #expect(
            wrongMethod.hasPrefix("HTTP/1.1 405") && wrongMethod.contains("\r\nAllow: GET, HEAD\r\n"), "\(wrongMethod)")
        let getPrune = response(port, "GET", "/v1/prune", token: nil)
        #expect(getPrune.hasPrefix("HTTP/1.1 405") && getPrune.contains("\r\nAllow: POST\r\n"), "\(getPrune)")
        #expect(request(port, "DELETE", "/v1/nope", token: token).0 == 404)

        // Mutations: 401 without the token, and nothing runs.
        #expect(post(port, "/v1/policies/demo/backup", token: nil).0 == 401)
        #expect(post(port, "/v1/policies/demo/backup", token: "wrong").0 == 401)
        let (code, body) = post(
            port, "/v1/restores", token: token, body: "{\"policy\":\"demo\",\"target\":\"\(w.path("restored"))\"}")
        #expect(code == 202)
        let job = (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: String])?["job"] ?? ""
        #expect(
            waitFor(15) {
                let fd = connectTo(port); defer { close(fd) }
                let r = "GET /v1/jobs/\(job) HTTP/1.1\r\nAuthorization: Bearer \(token)\r\n\r\n"
                _ = Array(r.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                var out: [UInt8] = [], b = [UInt8](repeating: 0, count: 4096)
                while true { let n = recv(fd, &b, b.count, 0); if n <= 0 { break }; out += b[0..<n] }
                return String(decoding: out, as: UTF8.self).contains("\"state\" : \"succeeded\"")
            }, "the API restore finishes")
        #expect(try treeDifferences(w.path("node"), w.path("restored")) == [])

        let health = try w.run(["health", "--url", "http://127.0.0.1:\(port)", "--token-file", w.path("monitor.token")])
        #expect(health.code == 0 && health.stdout.hasPrefix("CHAINVAULT OK:"), "\(health.stdout)")

        // A bad config on SIGHUP keeps the old one running.
        try w.write("config.json", Array("{\"repository\": 5}".utf8))
        kill(p.processIdentifier, SIGHUP)
        // Waits on what the daemon reports (the reload's notifications), not on a sleep.
        var reloadMessages: [String] = []
        #expect(
            waitFor(20) {
                reloadMessages += notify.drain()
                return reloadMessages.contains { $0.hasPrefix("RELOADING=1") }
                    && reloadMessages.contains { $0.hasPrefix("READY=1") }
            }, "the bad reload is over: \(reloadMessages)")
        #expect(get(port, "/livez").0 == 200)

        kill(p.processIdentifier, SIGTERM)
        #expect(waitFor(20) { !p.isRunning }, "SIGTERM stops the daemon")
        #expect(p.terminationStatus == 0)
        #expect(notify.drain().contains { $0.hasPrefix("STOPPING=1") })
        let log = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("<6>event=ready") && log.contains("<3>event=reload result=failed"))
        #expect(!log.contains(token), "the token is never logged")
        try w.ok(["audit", "--verify", "--file", w.path("state/audit.log")])
        // The repository holds a copy of the log, for when the server is lost.
        let mirrored = try w.ok(["audit", "--from-repository", "--verify"])
        #expect(mirrored.stdout.contains("chain intact"), "\(mirrored.stdout)")
        let unknown = try w.run(["health", "--url", "http://127.0.0.1:\(port)", "--token-file", w.path("monitor.token")]
        )
        #expect(unknown.code == 3 && unknown.stdout.hasPrefix("CHAINVAULT UNKNOWN:"))

        // Killed during a job: the next start records it as interrupted (not failed: it is retried).
        var state =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: w.path("state/state.json"))))
            as! [String: Any]
        state["runningJob"] = "backup:demo"
        try JSONSerialization.data(withJSONObject: state).write(to: URL(fileURLWithPath: w.path("state/state.json")))
        try w.write("config.json", Array(config.utf8))
        let again = Process()
        again.executableURL = URL(fileURLWithPath: Workspace.binary)
        again.arguments = ["daemon", "--config", w.path("config.json")]
        again.environment = w.environment
        again.standardError = FileHandle.nullDevice
        try again.run()
        #expect(waitFor(10) { get(port, "/livez").0 == 200 })
        kill(again.processIdentifier, SIGTERM)
        again.waitUntilExit()
        let entries = try AuditLog.read(w.path("state/audit.log"))
        #expect(
            entries.contains {
                $0.subject == "backup:demo" && $0.result == "interrupted"
                    && $0.details["error"]?.contains("interrupted") == true
            })
        try w.ok(["audit", "--verify", "--file", w.path("state/audit.log")])
    }
}
