import Foundation
import Glibc
import Testing

/// Webhooks (issue 15), against a local receiver: the generic JSON POST and healthchecks.io's
/// pings arrive with the right bodies, a 500 is retried, a receiver that hangs delays no job,
/// and the secret URL is never logged.
extension DaemonTests {
    @Test func webhooksReportJobsRetryAndNeverDelayAJob() throws {
        let w = try Workspace()
        let receiver = try WebhookReceiver(directory: w.path("receiver"))
        let (port, _, config) = try prepareDaemon(w, nodeSize: "1M")
        try w.write(
            "policies/broken.json",
            Array(
                """
                {"name":"broken","source":"\(w.path("no-such-node"))","consistency":{"mode":"live"},"schedule":{"every":"2s"},
                 "retention":{"keepLast":3},"rpo":"2s"}
                """.utf8))
        let secret = "ping-" + UUID().uuidString
        try w.write("ops.url", Array("\(receiver.url)/ops\n".utf8), mode: 0o600)
        try w.write("creds/hc.url", Array("\(receiver.url)/hc/\(secret)".utf8), mode: 0o600)
        try extendConfig(
            w, config,
            """
            "webhooks":[{"name":"hang","kind":"json","url":"\(receiver.url)/hang","events":["started"],"timeout":"60s","retries":0},
             {"name":"ops","kind":"json","urlFile":"\(w.path("ops.url"))","events":["started","succeeded","failed","late"]},
             {"name":"hc","kind":"healthchecks","urlCredential":"hc.url"},
             {"name":"flaky","kind":"json","url":"\(receiver.url)/flaky","events":["succeeded"],"policies":["demo"]}]
            """)
        let p = try startLoggingDaemon(w, env: ["CREDENTIALS_DIRECTORY": w.path("creds")])
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }

        // `broken` never succeeds (it runs again every 2 s): 2 s after the start it is late, once.
        // The hang receiver holds the first `started` call (and never answers before release):
        // both backups still finish.
        #expect(waitFor(60) { counter(port, "jobsFinished") >= 2 }, "both jobs ran: \(statusJSON(port))")
        let held = receiver.requests.filter { $0["path"] == "/hang" }
        #expect(!held.isEmpty, "the hanging receiver got its call and is still holding it")
        #expect(!FileManager.default.fileExists(atPath: w.path("receiver/release")))

        #expect(
            waitFor(30) {
                let events = receiver.bodies("/ops").map { "\($0["policy"] ?? "")/\($0["event"] ?? "")" }
                return Set(events).isSuperset(of: [
                    "demo/started", "demo/succeeded", "broken/started", "broken/failed", "broken/late"
                ])
            }, "ops events: \(receiver.bodies("/ops"))")
        let ops = receiver.bodies("/ops")
        let succeeded = try #require(ops.first { $0["event"] as? String == "succeeded" })
        #expect(succeeded["kind"] as? String == "backup" && succeeded["outcome"] as? String == "succeeded")
        #expect((succeeded["snapshot"] as? String)?.count == 64)
        #expect((succeeded["job"] as? String)?.isEmpty == false)
        #expect((succeeded["time"] as? String)?.hasSuffix("Z") == true)
        let failed = try #require(ops.first { $0["event"] as? String == "failed" })
        #expect((failed["error"] as? String)?.contains("no-such-node") == true, "\(failed)")
        #expect(receiver.requests.filter { $0["path"] == "/ops" }.allSatisfy { $0["type"] == "application/json" })

        // healthchecks.io: /start as each backup starts, the bare URL on success, /fail on failure.
        let base = "/hc/\(secret)"
        #expect(
            waitFor(30) {
                let paths = receiver.requests.compactMap { $0["path"] }.filter { $0.hasPrefix(base) }
                return paths.filter { $0 == base + "/start" }.count >= 2 && paths.contains(base)
                    && paths.contains(base + "/fail")
            }, "pings: \(receiver.requests.compactMap { $0["path"] })")
        #expect(receiver.requests.first { $0["path"] == base + "/fail" }?["body"]?.contains("no-such-node") == true)

        // Retried on 500: two failures, then delivered.
        #expect(waitFor(30) { receiver.requests.filter { $0["path"] == "/flaky" }.count == 3 })
        #expect(
            waitFor(10) { get(port, "/metrics").1.contains("chainvault_webhook_deliveries_total{webhook=\"flaky\"} 1") }
        )
        let metrics = get(port, "/metrics").1
        #expect(metrics.contains("chainvault_webhook_retries_total{webhook=\"flaky\"} 2"), "\(metrics)")
        #expect(metrics.contains("chainvault_webhook_failures_total{webhook=\"flaky\"} 0"))
        #expect(metrics.contains("chainvault_webhook_dropped_total{webhook=\"ops\"} 0"))

        receiver.release()
        #expect(
            waitFor(30) {
                (metricValue(get(port, "/metrics").1, "chainvault_webhook_deliveries_total{webhook=\"hang\"}") ?? 0)
                    >= 1
            })
        kill(p.processIdentifier, SIGTERM)
        #expect(waitFor(20) { !p.isRunning })
        let log = try String(contentsOfFile: w.path("daemon.log"), encoding: .utf8)
        #expect(!log.contains(secret), "the secret URL is never logged")
        #expect(log.contains("event=webhook"), "deliveries are logged by name")
    }
}
