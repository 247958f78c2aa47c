import Foundation
import Glibc
import Testing

/// SIGTERM with webhook events still queued (issue 15): the daemon delivers them before it exits,
/// waiting at most 5 s, and logs per webhook how many it dropped. Two receivers each hold the
/// `started` call, so `succeeded` waits in the queue: one is let go after the daemon reports
/// `stopping` and must get both; the other never answers and its two calls are logged as dropped.
/// The old daemon stopped its lanes at once: the queued `succeeded` never left.
extension DaemonTests {
    @Test func queuedWebhookEventsAreDeliveredAtSIGTERMAndTheRestAreCountedAsDropped() throws {
        let w = try Workspace()
        let kept = try WebhookReceiver(directory: w.path("kept"))
        let stuck = try WebhookReceiver(directory: w.path("stuck"))
        let (port, _, config) = try prepareDaemon(w, nodeSize: "1M")
        try extendConfig(
            w, config,
            """
            "webhooks":[{"name":"kept","kind":"json","url":"\(kept.url)/hang","events":["started","succeeded"],
                         "timeout":"60s","retries":0},
                        {"name":"stuck","kind":"json","url":"\(stuck.url)/hang","events":["started","succeeded"],
                         "timeout":"60s","retries":0}]
            """)
        let p = try startLoggingDaemon(w)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }

        #expect(waitFor(60) { counter(port, "jobsFinished") >= 1 }, "the backup ran: \(statusJSON(port))")
        #expect(waitFor(30) { kept.requests.count == 1 && stuck.requests.count == 1 }, "both hold `started`")

        kill(p.processIdentifier, SIGTERM)
        let log = { (try? String(contentsOfFile: w.path("daemon.log"), encoding: .utf8)) ?? "" }
        #expect(waitFor(30) { log().contains("event=stopping") })
        kept.release()
        #expect(waitFor(60) { !p.isRunning }, "the daemon exits within its bounded wait")

        let events = kept.bodies("/hang").compactMap { $0["event"] as? String }
        #expect(events == ["started", "succeeded"], "delivered before the exit: \(events)")
        #expect(stuck.bodies("/hang").compactMap { $0["event"] as? String } == ["started"])
        let flushes = log().split(separator: "\n").filter {
            $0.split(separator: " ").contains { $0.hasSuffix("event=webhook_flush") }
        }
        #expect(flushes.contains { $0.contains("webhook=kept") && $0.contains("dropped=0") }, "\(flushes)")
        #expect(
            flushes.contains {
                $0.contains("webhook=stuck") && $0.contains("result=timeout") && $0.contains("dropped=2")
            },
            "\(flushes)")
    }
}
