import Foundation
import Glibc
import Testing

/// `/v1/jobs/{id}` gives figures as JSON numbers and identifiers as strings (issue 15).
extension DaemonTests {
    @Test func jobRecordsGiveFiguresAsNumbers() throws {
        let w = try Workspace()
        let (port, token, _) = try prepareDaemon(
            w, nodeSize: "2M",
            policy: """
                {"name":"demo","source":"\(w.path("node"))","consistency":{"mode":"live"},"schedule":{"every":"1h"},"retention":{"keepLast":3},"rpo":"1h"}
                """)
        let p = try w.start(["daemon", "--config", w.path("config.json")])
        defer { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        #expect(waitFor(60) { counter(port, "jobsFinished") >= 1 }, "the first scheduled backup finishes")
        let job = runAPIJob(port, token: token, "/v1/policies/demo/backup")
        #expect(job["state"] as? String == "succeeded", "\(job)")
        let detail = job["detail"] as? [String: Any] ?? [:]
        for key in ["bytesRead", "bytesNew", "bytesStored", "forgotten"] {
            #expect(detail[key] is NSNumber && !(detail[key] is String), "\(key) is not a JSON number: \(detail)")
        }
        // The node did not change since the scheduled backup: nothing new was read, and that is 0, not "0".
        #expect((detail["bytesNew"] as? NSNumber)?.int64Value == 0, "\(detail)")
        #expect(detail["snapshot"] is String && (detail["snapshot"] as? String)?.count == 64, "\(detail)")
        #expect(detail["retention"] as? String == "applied", "\(detail)")
        #expect(job["queued"] is NSNumber && job["started"] is NSNumber && job["finished"] is NSNumber, "\(job)")
    }
}
