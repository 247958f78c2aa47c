import Foundation
import Glibc
import Testing
import VaultCore
import VaultDaemon
import VaultRepository
import VaultStorage

/// What the daemon records about its jobs (issue 10 "The daemon's own bookkeeping", issue 15's
/// interrupted jobs, issue 19's prune timer): every wait is on a state the daemon reports.
extension DaemonTests {
    func statusJSON(_ port: UInt16) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(status(port).1.utf8))) as? [String: Any] ?? [:]
    }

    func policyStatus(_ port: UInt16, _ name: String) -> [String: Any] {
        (statusJSON(port)["policies"] as? [[String: Any]])?.first { $0["name"] as? String == name } ?? [:]
    }

    func counter(_ port: UInt16, _ name: String) -> Int { statusJSON(port)[name] as? Int ?? -1 }

    /// The job's record once it has finished (any end state), or [:] after `seconds`.
    func finishedJob(_ port: UInt16, token: String, _ id: String, seconds: Double = 60) -> [String: Any] {
        var job: [String: Any] = [:]
        _ = waitFor(seconds) {
            job = self.job(port, token, id) ?? [:]
            return ["succeeded", "failed", "interrupted"].contains(job["state"] as? String ?? "")
        }
        return job
    }

    /// Triggers a job through the API and returns its record once finished.
    func runAPIJob(_ port: UInt16, token: String, _ path: String, body: String = "") -> [String: Any] {
        let (code, answer) = post(port, path, token: token, body: body)
        guard code == 202,
            let id = ((try? JSONSerialization.jsonObject(with: Data(answer.utf8))) as? [String: String])?["job"]
        else { return [:] }
        return finishedJob(port, token: token, id)
    }

    func snapshotCount(_ w: Workspace) -> Int {
        let out = (try? w.ok(["snapshots", "--json"]))?.stdout ?? ""
        return ((try? JSONSerialization.jsonObject(with: Data(out.utf8))) as? [Any])?.count ?? -1
    }

    func state(_ w: Workspace) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: w.path("state/state.json"))))
            as? [String: Any] ?? [:]
    }

    /// A backup whose snapshot was saved succeeded, even when its retention step finds another
    /// command's lock: `lastSuccess` moves, the RPO alarm stays off, and retention is applied by
    /// the next backup once the lock is gone.
    @Test func aBackupWhoseRetentionFindsALockStillSucceeds() throws {
        let w = try Workspace()
        let (port, token, _) = try prepareDaemon(
            w, nodeSize: "2M",
            policy: """
                {"name":"demo","source":"\(w.path("node"))","consistency":{"mode":"live"},"schedule":{"every":"1h"},"retention":{"keepLast":1},"rpo":"1h"}
                """)
        let p = try w.start(["daemon", "--config", w.path("config.json")])
        defer { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        #expect(waitFor(60) { counter(port, "jobsFinished") >= 1 }, "the first scheduled backup finishes")
        #expect(policyStatus(port, "demo")["lastOutcome"] as? String == "succeeded")

        // Another command (this test process: alive, on this host) holds a shared lock.
        let held = try RepositoryLock.acquire(LocalBackend(path: w.repo), exclusive: false, command: "verify (test)")
        defer { held.release() }
        let locked = runAPIJob(port, token: token, "/v1/policies/demo/backup")
        #expect(locked["state"] as? String == "succeeded", "\(locked)")
        #expect((locked["detail"] as? [String: Any])?["retention"] as? String == "deferred", "\(locked)")
        let demo = policyStatus(port, "demo")
        #expect(
            demo["lastOutcome"] as? String == "succeeded" && demo["late"] as? Bool == false
                && demo["retentionPending"] as? Bool == true, "\(demo)")
        let metrics = get(port, "/metrics").1
        #expect(metrics.contains("chainvault_backup_rpo_breached{policy=\"demo\"} 0"))
        #expect(metrics.contains("chainvault_backup_runs_total{policy=\"demo\",result=\"succeeded\"} 2"))
        #expect(metrics.contains("chainvault_backup_runs_total{policy=\"demo\",result=\"failed\"} 0"))
        #expect(snapshotCount(w) == 2)

        held.release()
        let after = runAPIJob(port, token: token, "/v1/policies/demo/backup")
        #expect((after["detail"] as? [String: Any])?["retention"] as? String == "applied", "\(after)")
        #expect(policyStatus(port, "demo")["retentionPending"] as? Bool == false)
        #expect(snapshotCount(w) == 1, "keepLast 1 applied")
    }

    /// A policy removed on SIGHUP is no longer scheduled (it used to stay, and its jobs failed).
    @Test func aPolicyRemovedOnReloadIsNoLongerScheduled() throws {
        let w = try Workspace()
        let (port, _, _) = try prepareDaemon(
            w, nodeSize: "1M",
            policy: """
                {"name":"demo","source":"\(w.path("node"))","consistency":{"mode":"live"},"schedule":{"every":"1h"},"retention":{"keepLast":1},"rpo":"2h"}
                """)
        try w.write(
            "policies/extra.json",
            Array(
                """
                {"name":"extra","source":"\(w.path("node"))","consistency":{"mode":"live"},"schedule":{"every":"1h"},"retention":{"keepLast":1},"rpo":"2h",
                 "verify":{"every":"1d","readAllWithinDays":7},"restoreDrill":{"every":"7d"}}
                """.utf8))
        let p = try w.start(["daemon", "--config", w.path("config.json")])
        defer { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        #expect(waitFor(30) { (statusJSON(port)["scheduled"] as? [String: Any])?["drill:extra"] != nil })
        let before = Set((statusJSON(port)["scheduled"] as? [String: Any] ?? [:]).keys)
        #expect(before == ["backup:demo", "backup:extra", "verify:extra", "drill:extra", "prune"], "\(before)")

        try FileManager.default.removeItem(atPath: w.path("policies/extra.json"))
        kill(p.processIdentifier, SIGHUP)
        #expect(waitFor(30) { counter(port, "reloads") == 1 }, "the reload is applied")
        let after = Set((statusJSON(port)["scheduled"] as? [String: Any] ?? [:]).keys)
        #expect(after == ["backup:demo", "prune"], "\(after)")
        #expect((statusJSON(port)["policies"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["demo"])
    }

    /// The prune timer starts from the last prune, or from when the state was first written: a
    /// daemon restarted more often than `pruneEvery` still prunes (it used to restart the timer
    /// from each start). The second start here is "two days later" for the state.
    @Test func aDaemonRestartedMoreOftenThanPruneEveryStillPrunes() throws {
        let w = try Workspace()
        let (port, _, config) = try prepareDaemon(
            w, nodeSize: "1M",
            policy: """
                {"name":"demo","source":"\(w.path("node"))","consistency":{"mode":"live"},"schedule":{"every":"1h"},"retention":{"keepLast":1},"rpo":"2h"}
                """)
        try w.write("config.json", Array(("{\"pruneEvery\":\"1d\"," + config.dropFirst()).utf8))
        let first = try w.start(["daemon", "--config", w.path("config.json")])
        #expect(waitFor(60) { counter(port, "jobsFinished") >= 1 }, "the first backup finishes")
        #expect(
            (statusJSON(port)["scheduled"] as? [String: String])?["prune"].flatMap(Timestamp.parse).map {
                $0 > Date().addingTimeInterval(80_000)
            } == true,
            "a fresh state: the first prune is a day away")
        kill(first.processIdentifier, SIGTERM)
        first.waitUntilExit()
        var saved = try state(w)
        #expect(saved["lastPrune"] == nil)
        saved["created"] = (saved["created"] as? Double ?? 0) - 2 * 86_400
        try JSONSerialization.data(withJSONObject: saved).write(to: URL(fileURLWithPath: w.path("state/state.json")))

        let second = try w.start(["daemon", "--config", w.path("config.json")])
        defer { kill(second.processIdentifier, SIGKILL); second.waitUntilExit() }
        #expect(
            waitFor(60) { get(port, "/metrics").1.contains("\nchainvault_prune_last_success_timestamp_seconds ") },
            "the overdue prune runs")
        let pruned = try state(w)["lastPrune"] as? Double ?? 0
        #expect(abs(pruned - Date().timeIntervalSince1970) < 120)
        let next = (statusJSON(port)["scheduled"] as? [String: String])?["prune"].flatMap(Timestamp.parse)
        #expect(
            next.map { abs($0.timeIntervalSince1970 - pruned - 86_400) < 5 } == true,
            "the next prune a day after this one: \(String(describing: next))")
    }

    /// A backup stopped by SIGTERM is recorded as interrupted, not failed: `health` stays OK, and
    /// after the restart it is retried after its backoff (1 min), neither at once nor a period later.
    @Test func aJobStoppedBySIGTERMIsInterruptedAndRetriedWithBackoff() throws {
        let w = try Workspace()
        // The pre-hook holds the job while `block` exists, until the test creates `go`.
        let hook =
            "touch \(w.path("started")); while [ -e \(w.path("block")) ] && [ ! -e \(w.path("go")) ]; do sleep 0.05; done"
        let (port, token, _) = try prepareDaemon(
            w, nodeSize: "1M",
            policy: """
                {"name":"demo","source":"\(w.path("node"))","consistency":{"mode":"stop","pre":["sh","-c","\(hook)"],"post":["true"]},
                 "schedule":{"every":"1h"},"retention":{"keepLast":3},"rpo":"1h"}
                """)
        let first = try w.start(["daemon", "--config", w.path("config.json")])
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL); first.waitUntilExit() } }
        #expect(waitFor(60) { counter(port, "jobsFinished") >= 1 }, "the first scheduled backup finishes")
        #expect(policyStatus(port, "demo")["lastOutcome"] as? String == "succeeded")

        try w.write("block", [])
        try FileManager.default.removeItem(atPath: w.path("started"))
        #expect(post(port, "/v1/policies/demo/backup", token: token).0 == 202)
        #expect(
            waitFor(30) { FileManager.default.fileExists(atPath: w.path("started")) },
            "the second backup is in its pre-hook")
        kill(first.processIdentifier, SIGTERM)
        // Only once the daemon reports it is stopping (the job is cancelled by then) may the hook go on.
        #expect(waitFor(30) { statusJSON(port)["stopping"] as? Bool == true })
        try w.write("go", [])
        #expect(waitFor(30) { !first.isRunning })
        #expect(first.terminationStatus == 0)
        let saved = try state(w)
        let demo = (saved["policies"] as? [String: Any])?["demo"] as? [String: Any] ?? [:]
        #expect(
            demo["lastOutcome"] as? String == "interrupted" && demo["runsFailed"] as? Int == 0
                && demo["runsInterrupted"] as? Int == 1, "\(demo)")
        let attempt = ((saved["attempts"] as? [String: Any])?["backup:demo"] as? [String: Any]) ?? [:]
        #expect(attempt["failures"] as? Int == 1, "\(saved)")
        let entries = try AuditLog.read(w.path("state/audit.log"))
        #expect(entries.contains { $0.action == "backup" && $0.result == "interrupted" })

        let second = try w.start(["daemon", "--config", w.path("config.json")])
        defer { kill(second.processIdentifier, SIGKILL); second.waitUntilExit() }
        #expect(waitFor(10) { get(port, "/livez").0 == 200 })
        let health = try w.run(["health", "--url", "http://127.0.0.1:\(port)", "--token-file", w.path("monitor.token")])
        #expect(health.code == 0 && health.stdout.hasPrefix("CHAINVAULT OK:"), "\(health.code) \(health.stdout)")
        let lastStart = attempt["lastStart"] as? Double ?? 0
        let next =
            (statusJSON(port)["scheduled"] as? [String: String])?["backup:demo"].flatMap(Timestamp.parse)?
            .timeIntervalSince1970 ?? 0
        #expect(
            abs(next - (lastStart + 60)) < 2,
            "retry 1 min after the interrupted attempt, not at once nor in 1 h: \(next - lastStart) s")
    }
}

extension DaemonTests {
    /// A backup whose source failed mid-file (EIO, through an LD_PRELOAD shim in the daemon) saves
    /// a partial snapshot, and the daemon does not count it: the job failed, there is no last
    /// success, the RPO alarm is on, and the failure is retried with backoff.
    @Test func aPartialBackupIsNoSuccessForTheDaemon() throws {
        let w = try Workspace()
        let (port, _, _) = try prepareDaemon(
            w, nodeSize: "4M",
            policy: """
                {"name":"demo","source":"\(w.path("node"))","consistency":{"mode":"live"},"schedule":{"every":"1h"},"retention":{"keepLast":1},"rpo":"1h"}
                """)
        let shim = try SourceAndClockFaultTests().buildShim(w)
        w.environment.merge(["LD_PRELOAD": shim, "EIO_FILE": "blk00000.dat", "EIO_AFTER": "1000000"]) { $1 }
        let p = try w.start(["daemon", "--config", w.path("config.json")])
        defer { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        #expect(waitFor(60) { counter(port, "jobsFinished") >= 1 }, "the first scheduled backup finishes")
        let demo = policyStatus(port, "demo")
        #expect(demo["lastOutcome"] as? String == "failed", "\(demo)")
        #expect((demo["lastError"] as? String ?? "").contains("is partial"), "\(demo)")
        #expect(demo["late"] as? Bool == true && (demo["ageSeconds"] == nil || demo["ageSeconds"] is NSNull), "\(demo)")
        let metrics = get(port, "/metrics").1
        #expect(metrics.contains("chainvault_backup_rpo_breached{policy=\"demo\"} 1"), "\(metrics)")
        #expect(metrics.contains("chainvault_backup_runs_total{policy=\"demo\",result=\"failed\"} 1"))
        // The snapshot is kept (it holds what could be read), marked partial.
        w.environment.removeValue(forKey: "LD_PRELOAD")
        let listed = try w.ok(["snapshots", "--json"]).stdout
        #expect(listed.contains("\"partial\" : true"), "\(listed)")
    }
}
