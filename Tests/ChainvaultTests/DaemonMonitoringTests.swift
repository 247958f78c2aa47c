import Foundation
import Glibc
import Testing

/// Issue 15's monitoring, through the running daemon: readiness from a real background probe of
/// the repository, one strict logfmt record per log line. Every wait is on what the daemon
/// reports, with a generous bound.
extension DaemonTests {
    /// Starts the daemon with its stderr in `daemon.log` (a file: a pipe nobody reads could fill
    /// and block the daemon), outside journald (no JOURNAL_STREAM).
    func startLoggingDaemon(_ w: Workspace, env: [String: String] = [:]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Workspace.binary)
        p.arguments = ["daemon", "--config", w.path("config.json")]
        var environment = w.environment.merging(env) { $1 }
        environment.removeValue(forKey: "JOURNAL_STREAM")
        p.environment = environment
        _ = FileManager.default.createFile(atPath: w.path("daemon.log"), contents: nil)
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: w.path("daemon.log")))
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Adds `extra` (JSON members, no braces) to config.json.
    func extendConfig(_ w: Workspace, _ config: String, _ extra: String) throws {
        let text = config.trimmingCharacters(in: .whitespacesAndNewlines)
        try w.write("config.json", Array((String(text.dropLast()) + "," + extra + "}").utf8))
    }

    /// The repository moved away: /readyz says 503 with the probe's reason within a few probe
    /// periods, while /livez stays 200; moved back, it is ready again. On the old binary (with
    /// the probe option left out) /readyz kept answering 200 "repository: open, key accepted".
    @Test func readinessFollowsARealProbeOfTheRepository() throws {
        let w = try Workspace()
        let (port, _, config) = try prepareDaemon(w, nodeSize: "1M")
        try extendConfig(w, config, "\"readinessProbeEvery\":\"1s\",\"readinessProbeTimeout\":\"5s\"")
        let p = try startLoggingDaemon(w)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }
        #expect(waitFor(30) { get(port, "/readyz").0 == 200 }, "ready at first: \(get(port, "/readyz?verbose"))")
        #expect(get(port, "/readyz?verbose").1.contains("[+]probe"), "\(get(port, "/readyz?verbose").1)")

        #expect(rename(w.repo, w.repo + ".moved") == 0)
        #expect(waitFor(30) { get(port, "/readyz").0 == 503 }, "not ready once the repository is gone")
        let (_, why) = get(port, "/readyz")
        #expect(why.contains("probe"), "\(why)")
        #expect(get(port, "/livez").0 == 200, "the daemon itself is alive")
        #expect(get(port, "/metrics").1.contains("chainvault_ready 0"))

        #expect(rename(w.repo + ".moved", w.repo) == 0)
        #expect(waitFor(30) { get(port, "/readyz").0 == 200 }, "ready again: \(get(port, "/readyz?verbose").1)")
        #expect(get(port, "/livez").0 == 200)
        kill(p.processIdentifier, SIGTERM)
        #expect(waitFor(20) { !p.isRunning })
    }

    /// A hook printing quotes, newlines, `=` and bytes that are not UTF-8, and a post hook that
    /// fails with that output (so it reaches a job's `error=`): every line of the daemon's stderr
    /// is one strict logfmt record with `event=` first and a timestamp; the hook's output lines
    /// are `event=hook_output` records that give back its exact bytes. On the old binary the
    /// first hook line without a priority prefix failed the parser.
    @Test func everyLogLineIsStrictLogfmt() throws {
        let w = try Workspace()
        let noisy = #"printf 'say "hi" \\ back\nkey=value x\n\377\376 raw\n' >&2; printf 'to stdout\n'"#
        let (port, _, _) = try prepareDaemon(
            w, nodeSize: "1M",
            policy: """
                {"name":"demo","source":"\(w.path("node"))","consistency":{"mode":"stop","pre":["sh","-c",\(jsonString(noisy))],
                 "post":["sh","-c",\(jsonString(noisy + "; exit 3"))]},"schedule":{"every":"24h"},"retention":{"keepLast":3},"rpo":"48h"}
                """)
        let p = try startLoggingDaemon(w)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }
        #expect(waitFor(60) { counter(port, "jobsFinished") >= 1 }, "the first backup ran")
        kill(p.processIdentifier, SIGTERM)
        #expect(waitFor(20) { !p.isRunning })

        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: w.path("daemon.log"))))
        let records: [StrictLogfmt.Record]
        do { records = try StrictLogfmt.parseAll(bytes) } catch {
            Issue.record("\(error)\n--- stderr ---\n\(String(decoding: bytes, as: UTF8.self))")
            return
        }
        #expect(records.count >= 5)
        for r in records {
            #expect(r.priority != nil, "every record has its priority: \(r.pairs.map(\.0))")
            #expect(r.value("time").map { $0.hasSuffix("Z") && $0.count >= 20 } == true, "a timestamp outside journald")
        }
        let hookLines = records.filter { $0.value("event") == "hook_output" }
        let lines = hookLines.compactMap { $0.bytes("line") }
        #expect(lines.contains(Array(#"say "hi" \ back"#.utf8)), "\(hookLines.map { $0.value("line") ?? "" })")
        #expect(lines.contains(Array("key=value x".utf8)))
        #expect(lines.contains([0xFF, 0xFE] + Array(" raw".utf8)), "non-UTF-8 bytes come back exactly")
        #expect(lines.contains(Array("to stdout".utf8)))
        #expect(hookLines.contains { $0.value("hook") == "pre" } && hookLines.contains { $0.value("hook") == "post" })
        let job = try #require(records.first { $0.value("event") == "job" }, "the job's record")
        #expect(job.value("result") == "failed")
        #expect(job.value("error")?.contains("exited 3") == true, "\(job.value("error") ?? "")")
    }

    /// After a backup with an off-site copy, a verify, a drill, a prune and two reloads (a good
    /// and a bad one), each series issue 15 asked for is there with a sane value, and promtool
    /// still passes the page. None of them existed on the old binary.
    @Test func theMissingMetricsAppearAfterTheirJobsRan() throws {
        let w = try Workspace()
        let (port, _, config) = try prepareDaemon(
            w, nodeSize: "1M",
            policy: livePolicy(
                w,
                extra: #"""
                    "copyTo":"\#(w.path("offsite"))","verify":{"every":"2s","readAllWithinDays":1},"restoreDrill":{"every":"2s"}
                    """#))
        try w.ok(["init", "--repo", w.path("offsite")])
        try extendConfig(w, config, "\"pruneEvery\":\"2s\",\"readinessProbeEvery\":\"1s\"")
        let started = Date().timeIntervalSince1970
        let p = try startLoggingDaemon(w)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }
        let wanted = [
            "chainvault_restore_drill_last_outcome{policy=\"demo\"}", "chainvault_verify_last_outcome{policy=\"demo\"}",
            "chainvault_copy_last_outcome{policy=\"demo\"}", "chainvault_prune_last_outcome"
        ]
        var metrics = ""
        #expect(
            waitFor(90) {
                metrics = get(port, "/metrics").1
                return wanted.allSatisfy { metricValue(metrics, $0) == 1 }
            }, "every job ran and succeeded:\n\(metrics)")
        let now = Date().timeIntervalSince1970
        func inRun(_ series: String) -> Bool {
            metricValue(metrics, series).map { $0 >= started - 1 && $0 <= now + 1 } == true
        }
        #expect(inRun("chainvault_restore_drill_last_success_timestamp_seconds{policy=\"demo\"}"))
        #expect(inRun("chainvault_copy_last_success_timestamp_seconds{policy=\"demo\"}"))
        #expect(inRun("chainvault_config_last_reload_success_timestamp_seconds"), "the start counts as a load")
        #expect(metricValue(metrics, "chainvault_config_last_reload_successful") == 1)
        let lag = metricValue(metrics, "chainvault_copy_lag_seconds{policy=\"demo\"}")
        #expect(lag.map { $0 >= 0 && $0 < now - started + 1 } == true, "lag \(lag ?? -1)")
        #expect((metricValue(metrics, "chainvault_verify_last_read_packs{policy=\"demo\"}") ?? 0) >= 1)
        #expect(
            metricValue(metrics, "chainvault_verify_window_read_ratio{policy=\"demo\"}").map { $0 > 0 && $0 <= 1 }
                == true)
        #expect((metricValue(metrics, "chainvault_repository_locks_held") ?? -1) >= 0)
        // The process_* family, as every Prometheus client exports it.
        let resident = metricValue(metrics, "process_resident_memory_bytes") ?? 0
        #expect(resident > 1_048_576 && resident < 4_294_967_296, "\(resident)")
        #expect((metricValue(metrics, "process_virtual_memory_bytes") ?? 0) > resident)
        let fds = metricValue(metrics, "process_open_fds") ?? 0
        #expect(fds >= 3 && fds < (metricValue(metrics, "process_max_fds") ?? 0))
        #expect((metricValue(metrics, "process_cpu_seconds_total") ?? 0) > 0)
        #expect(metricValue(metrics, "process_start_time_seconds").map { abs($0 - started) < 30 } == true)
        if let promtool = tool("promtool") {
            let (code, out, err) = try runTool(promtool, ["check", "metrics"], stdin: metrics)
            #expect(code == 0, "promtool: \(out) \(err)")
        }

        // A bad reload: successful 0, the time of the last good one kept.
        let before = metricValue(metrics, "chainvault_config_last_reload_success_timestamp_seconds")
        try w.write("config.json", Array("{\"repository\": 5}".utf8))
        kill(p.processIdentifier, SIGHUP)
        #expect(waitFor(30) { metricValue(get(port, "/metrics").1, "chainvault_config_last_reload_successful") == 0 })
        #expect(
            metricValue(get(port, "/metrics").1, "chainvault_config_last_reload_success_timestamp_seconds") == before)
        kill(p.processIdentifier, SIGTERM)
        #expect(waitFor(20) { !p.isRunning })
    }

    /// The value of one series (`name{labels}` exactly as exported) in a /metrics text.
    func metricValue(_ metrics: String, _ series: String) -> Double? {
        for line in metrics.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    func jsonString(_ s: String) -> String {
        String(
            decoding: try! JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes]),
            as: UTF8.self
        )
        .dropFirst().dropLast().description
    }
}
