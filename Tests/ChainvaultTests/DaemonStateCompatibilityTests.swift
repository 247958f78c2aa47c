import Foundation
import Glibc
import S3TestSupport
import Testing
import VaultCore
import VaultDaemon
import VaultRepository

/// A state file written before jobs had types (`JobKind`, `JobState`, issue 16) still loads, and
/// what the daemon writes back is byte for byte what the old daemon wrote. The fixture was written
/// by the daemon as it was before the change (b5e7358 with the monitor-token commit, whose state code
/// is b5e7358's): policy `demo` backed up, policy `slow` killed
/// (SIGKILL) in its pre hook, so `runningJob` and `attempts` hold `backup:slow`.
extension DaemonTests {
    static let oldStateFile = repositoryRoot + "/Tests/DaemonFixtures/state-before-typed-jobs.json"

    @Test func aStateFileFromBeforeTypedJobsLoadsAndIsWrittenBackByteForByte() throws {
        let w = try Workspace()
        let old = try Posix.readFile(Self.oldStateFile)
        let state = DaemonState.load(Self.oldStateFile)
        #expect(state.runningJob == "backup:slow" && state.policies["demo"]?.lastOutcome == "succeeded", "\(state)")
        #expect(JobKind(state.runningJob ?? "") == .backup(policy: "slow"))
        try state.save(w.path("again.json"))
        #expect(try Posix.readFile(w.path("again.json")) == old, "the state file reads back as the old daemon wrote it")
    }

    @Test func aDaemonStartedOnAnOldStateFileRecordsItsInterruptedJobAndKeepsItsBackoff() throws {
        let w = try Workspace()
        let old =
            try JSONSerialization.jsonObject(with: Data(try Posix.readFile(Self.oldStateFile))) as? [String: Any] ?? [:]
        try w.write("state/state.json", try Posix.readFile(Self.oldStateFile), mode: 0o640)
        for name in ["demo", "slow"] {
            try w.write("policies/\(name).json", Array(livePolicy(w, name: name).utf8))
        }
        // No repository: nothing runs, so what the status shows is what the state file said.
        let port = TestPorts.take()
        try writeDaemonConfig(w, port: port, repository: w.path("no-repository"), admin: false)
        let p = try w.start(["daemon", "--config", w.path("config.json")])
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }
        #expect(waitFor(20) { status(port).0 == 200 })
        let policies = statusJSON(port)["policies"] as? [[String: Any]] ?? []
        let demo = policies.first { $0["name"] as? String == "demo" } ?? [:]
        let slow = policies.first { $0["name"] as? String == "slow" } ?? [:]
        let oldDemo = (old["policies"] as? [String: Any])?["demo"] as? [String: Any] ?? [:]
        #expect(
            demo["lastOutcome"] as? String == "succeeded"
                && demo["lastSnapshot"] as? String == oldDemo["lastSnapshot"] as? String,
            "\(demo)")
        #expect(slow["lastOutcome"] as? String == "interrupted", "\(slow)")
        #expect(slow["lastError"] as? String == "interrupted (the daemon stopped during the job)", "\(slow)")
        let entries = try AuditLog.read(w.path("state/audit.log"))
        #expect(entries.contains { $0.action == "backup" && $0.subject == "backup:slow" && $0.result == "interrupted" })
        // The attempt the old daemon counted keeps its backoff: a retry a minute after it started,
        // long past by now, so due at once; demo's next backup a day after its last one.
        let scheduled = statusJSON(port)["scheduled"] as? [String: String] ?? [:]
        let lastStart =
            (((old["attempts"] as? [String: Any])?["backup:slow"]) as? [String: Any])?["lastStart"] as? Double
        #expect(lastStart != nil && scheduled["backup:slow"] != nil, "\(scheduled)")
        let demoNext = scheduled["backup:demo"].flatMap(Timestamp.parse)?.timeIntervalSince1970 ?? 0
        let demoLast = oldDemo["lastBackupStart"] as? Double ?? 0
        #expect(abs(demoNext - max(demoLast + 86_400, Date().timeIntervalSince1970)) < 30, "\(scheduled) \(demoLast)")
        let saved = try state(w)
        #expect(saved["runningJob"] == nil && (saved["attempts"] as? [String: Any])?["backup:slow"] != nil, "\(saved)")
    }
}
