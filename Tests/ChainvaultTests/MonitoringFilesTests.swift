import Foundation
import Glibc
import Testing

/// The monitoring files shipped in `systemd/monitoring/` work as shipped: the Prometheus rules
/// load and fire as their unit tests say, every metric they name is one the running daemon
/// exports, and the Nagios/Icinga definitions call `chainvault health` with options it accepts.
struct MonitoringFilesTests {
    static let directory = repositoryRoot + "/systemd/monitoring"

    func promtool() throws -> String {
        try #require(tool("promtool"), "promtool is missing: .ci/setup installs it (Debian package prometheus)")
    }

    @Test func alertRulesLoadAndTheirUnitTestsPass() throws {
        let promtool = try promtool()
        let (checkCode, checkOut, checkErr) = try runTool(
            promtool, ["check", "rules", Self.directory + "/chainvault.rules.yml"])
        #expect(checkCode == 0, "promtool check rules: \(checkOut) \(checkErr)")
        #expect(checkOut.contains("SUCCESS"), "\(checkOut)")
        let (testCode, testOut, testErr) = try runTool(
            promtool, ["test", "rules", Self.directory + "/chainvault.rules.test.yml"])
        #expect(testCode == 0, "promtool test rules: \(testOut) \(testErr)")
    }

    /// Every alert has a unit test that expects it to fire, so none is shipped untried.
    @Test func everyAlertIsExercisedByTheRuleTests() throws {
        let rules = try String(contentsOfFile: Self.directory + "/chainvault.rules.yml", encoding: .utf8)
        let tests = try String(contentsOfFile: Self.directory + "/chainvault.rules.test.yml", encoding: .utf8)
        let alerts = Self.values(after: "- alert:", in: rules)
        #expect(alerts.count >= 15)
        // Issue 15's list: backup late and failed, verify errors and coverage, drill failing and
        // slow (RTO), copy lagging, daemon down, readiness failing.
        for alert in [
            "ChainvaultBackupLate", "ChainvaultBackupFailed", "ChainvaultVerifyErrors",
            "ChainvaultVerifyCoverageBehind",
            "ChainvaultRestoreDrillFailed", "ChainvaultRestoreDrillSlow", "ChainvaultCopyLagging",
            "ChainvaultDaemonDown",
            "ChainvaultNotReady"
        ] {
            #expect(alerts.contains(alert), "no rule \(alert)")
        }
        for alert in alerts {
            #expect(
                tests.contains("alertname: \(alert)\n        exp_alerts:\n          - exp_labels"),
                "no firing test for \(alert)")
        }
    }

    /// The metric names in the rules and the dashboard are families the daemon exports (read from a running
    /// daemon's /metrics, where every family has its TYPE line even before it has samples).
    @Test func theRulesAndTheDashboardNameOnlyMetricsTheDaemonExports() throws {
        let w = try Workspace()
        let daemon = DaemonTests()
        let (port, _, _) = try daemon.prepareDaemon(
            w, nodeSize: "1M",
            policy: daemon.livePolicy(
                w,
                extra: """
                    "verify":{"every":"24h","readAllWithinDays":7},"restoreDrill":{"every":"24h"}
                    """))
        let p = try w.start(["daemon", "--config", w.path("config.json")])
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }
        #expect(daemon.waitFor(30) { daemon.get(port, "/livez").0 == 200 })
        let metrics = daemon.get(port, "/metrics").1
        let exported = Set(
            metrics.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }
                .compactMap { $0.split(separator: " ").dropFirst(2).first.map(String.init) })
        #expect(exported.contains("chainvault_ready"), "\(metrics)")
        // The series issue 15 added are on the page even before their jobs ran (as TYPE lines).
        for name in [
            "chainvault_restore_drill_last_outcome", "chainvault_verify_last_outcome", "chainvault_copy_lag_seconds",
            "chainvault_prune_last_outcome", "chainvault_config_last_reload_successful",
            "chainvault_repository_locks_held",
            "chainvault_webhook_failures_total", "chainvault_webhook_dropped_total", "process_resident_memory_bytes",
            "process_open_fds", "process_max_fds", "process_cpu_seconds_total", "process_start_time_seconds"
        ] {
            #expect(exported.contains(name), "\(name) is not exported")
        }
        // The check below can fail: a misspelt name in an expression is caught.
        #expect(
            Self.metricNames(in: "time() - chainvault_backup_last_sucess_timestamp_seconds > 3600")
                .subtracting(exported) == ["chainvault_backup_last_sucess_timestamp_seconds"])
        #expect(
            Self.metricNames(in: "rate(process_cpu_second_total[5m])").subtracting(exported) == [
                "process_cpu_second_total"
            ])

        let rules = try String(contentsOfFile: Self.directory + "/chainvault.rules.yml", encoding: .utf8)
        let named = Self.metricNames(in: Self.values(after: "expr:", in: rules).joined(separator: "\n"))
        #expect(named.count >= 5, "\(named)")
        for name in named { #expect(exported.contains(name), "the rules use \(name), which /metrics does not export") }

        let queries = try Self.dashboardQueries()
        let dashboardNames = Self.metricNames(in: queries.joined(separator: "\n"))
        #expect(dashboardNames.count >= 10, "\(dashboardNames)")
        for name in dashboardNames {
            #expect(exported.contains(name), "the dashboard uses \(name), which /metrics does not export")
        }
    }

    /// Every PromQL expression of the Grafana dashboard (panel targets and template queries); the
    /// file must be valid JSON and every panel must have at least one query.
    static func dashboardQueries() throws -> [String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/chainvault-dashboard.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        var queries: [String] = []
        for panel in panels {
            let targets = (panel["targets"] as? [[String: Any]]) ?? []
            #expect(!targets.isEmpty, "panel \(panel["title"] ?? "?") has no query")
            queries += targets.compactMap { $0["expr"] as? String }
        }
        let variables = ((dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]]) ?? []
        queries += variables.filter { $0["type"] as? String == "query" }.compactMap { $0["query"] as? String }
        return queries
    }

    /// The command lines in the Nagios and Icinga files parse: with a daemon that cannot be
    /// reached the plugin says UNKNOWN (exit 3), not a usage error.
    @Test func theNagiosAndIcingaCommandsUseOptionsHealthAccepts() throws {
        let w = try Workspace()
        let nagios = try String(contentsOfFile: Self.directory + "/nagios-chainvault.cfg", encoding: .utf8)
        let icinga = try String(contentsOfFile: Self.directory + "/icinga2-chainvault.conf", encoding: .utf8)
        #expect(nagios.contains("command_line    /usr/bin/chainvault health"))
        #expect(icinga.contains("command = [ \"/usr/bin/chainvault\", \"health\" ]"))
        let options = Self.values(after: "\"", in: icinga).compactMap { line -> String? in
            let option = String(line.prefix { $0 != "\"" })
            return option.hasPrefix("-") ? option : nil
        }
        #expect(Set(options) == ["--url", "--token-file", "--policy", "-w", "-c"], "\(options)")
        try w.write("monitor.token", Array(HealthCommandTests.token.utf8), mode: 0o600)
        let r = try w.run([
            "health", "--url", "http://127.0.0.1:1", "--token-file", w.path("monitor.token"),
            "--policy", "bitcoind", "-w", "6h", "-c", "12h"
        ])
        #expect(r.code == 3, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.hasPrefix("CHAINVAULT UNKNOWN: the daemon at 127.0.0.1:1 cannot be reached"), "\(r.stdout)")
    }

    /// Both definitions pass a monitor token (/v1/status needs one, issue 14): the Nagios command
    /// line as shipped, its token file moved into the workspace, gets a verdict from a daemon
    /// that answers 401 without the token.
    @Test func theNagiosAndIcingaCommandsPassAMonitorToken() throws {
        let w = try Workspace()
        let nagios = try String(contentsOfFile: Self.directory + "/nagios-chainvault.cfg", encoding: .utf8)
        let icinga = try String(contentsOfFile: Self.directory + "/icinga2-chainvault.conf", encoding: .utf8)
        let shipped = "/etc/chainvault-monitor.token"
        #expect(icinga.contains("vars.chainvault_token_file = \"\(shipped)\""), "\(icinga)")
        let line = try #require(Self.values(after: "command_line", in: nagios).first)
        let server = try HealthCommandTests.StatusServer(
            body: HealthCommandTests.status, token: HealthCommandTests.token)
        try w.write("monitor.token", Array(HealthCommandTests.token.utf8), mode: 0o640)
        let words = line.replacingOccurrences(of: "$ARG1$", with: "--policy demo")
            .replacingOccurrences(of: shipped, with: w.path("monitor.token"))
            .replacingOccurrences(of: "127.0.0.1:9797", with: "127.0.0.1:\(server.port)")
            .split(separator: " ").map(String.init)
        #expect(words.first == "/usr/bin/chainvault" && words.contains("--token-file"), "\(words)")
        let r = try w.run(Array(words.dropFirst()))
        #expect(r.code == 0 && r.stdout.hasPrefix("CHAINVAULT OK:"), "\(words) \(r.stdout) \(r.stderr)")
    }

    /// The text after `marker` on every line that contains it.
    static func values(after marker: String, in text: String) -> [String] {
        text.split(separator: "\n").compactMap { line in
            line.range(of: marker).map { String(line[$0.upperBound...]).trimmingCharacters(in: .whitespaces) }
        }
    }

    /// `chainvault_*` and `process_*` identifiers in PromQL expressions.
    static func metricNames(in expressions: String) -> Set<String> {
        var names = Set<String>(), current = ""
        for c in expressions + " " {
            if c.isLetter || c.isNumber || c == "_" { current.append(c); continue }
            if current.hasPrefix("chainvault_") || current.hasPrefix("process_") { names.insert(current) }
            current = ""
        }
        return names
    }
}
