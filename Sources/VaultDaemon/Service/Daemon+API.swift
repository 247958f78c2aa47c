import Foundation
import VaultCore
import VaultEngine
import VaultRepository

extension Daemon {
    struct PolicyStatus: Encodable {
        let name: String
        let source: String
        let lastSuccess: String?
        let ageSeconds: Double?
        let rpoSeconds: Double
        let late: Bool
        let lastOutcome: String?
        let lastError: String?
        let lastSnapshot: String?
        let lastDurationSeconds: Double?
        let lastDowntimeSeconds: Double?
        let lastVerifySuccess: String?
        let lastVerifyErrors: Int
        let lastDrillSeconds: Double?
        /// The last drill's bytes (what a restore writes) and rate; its duration is the RTO estimate.
        let lastDrillBytes: UInt64?
        let lastDrillBytesPerSecond: Double?
        let nextRun: String?
        let snapshots: Int
        let lastVerifyPacksRead: Int?
        /// The rolling verify's window: the share of packs read in it, and how long the oldest
        /// unread pack has gone unread.
        let verifyWindowReadShare: Double?
        let verifyOldestUnreadSeconds: Double?
        let retentionPending: Bool
        /// The last backup's chain check: profile, height, tip and whether the chain was valid.
        let chain: ChainCheck?
    }

    struct Status: Encodable {
        let version: String
        let ready: Bool
        let stopping: Bool
        let running: JobRecord?
        let queued: [String]
        /// Since this start: what a monitor (or a test) waits on instead of a clock.
        let jobsStarted: Int
        let jobsFinished: Int
        let reloads: Int
        /// Every scheduled job and when it is next due.
        let scheduled: [String: String]
        let policies: [PolicyStatus]
    }

    func json<T: Encodable>(_ status: Int, _ value: T) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return HTTPResponse(
            status: status, contentType: "application/json", body: Array((try? encoder.encode(value)) ?? Data()) + [10])
    }

    private func iso(_ t: Double?) -> String? { t.map { Timestamp.format(Date(timeIntervalSince1970: $0)) } }

    /// Readiness checks, each with a reason; all must pass.
    func readiness() -> [(String, Bool, String)] {
        // The probe's answer is memory too: it runs on its own thread (ReadinessProbe).
        let (probeOK, probeWhy) = probe.withLock { $0 }?.check() ?? (false, "not started")
        let count = policies.count
        return loop.withLock { loop in
            let opened = loop.repositoryOpenedAt != nil
            return [
                ("config", true, "\(count) policies loaded"),
                ("repository", opened, loop.repositoryError ?? (opened ? "open, key accepted" : "not opened yet")),
                ("probe", probeOK, probeWhy),
                ("not-stopping", !loop.stopping, loop.stopping ? "stopping" : "running")
            ]
        }
    }

    /// A job's record with live progress filled in while it runs.
    func withProgress(_ job: JobRecord?, _ progress: JobProgress?) -> JobRecord? {
        guard var job, job.state == .running, let p = progress?.snapshot else { return job }
        job.progress = .init(
            files: p.files, bytes: p.bytes, totalBytes: p.total > 0 ? p.total : nil, elapsedSeconds: p.elapsed)
        return job
    }

    func status() -> Status {
        let now = Date().timeIntervalSince1970
        let ready = readiness().allSatisfy(\.1)
        let policies = self.policies
        let state = state.read { $0 }
        let list = policies.values.sorted { $0.name < $1.name }.map { p -> PolicyStatus in
            let s = state.policies[p.name] ?? PolicyState()
            let rpo = p.rpo.seconds ?? 0
            let age = s.lastSuccess.map { now - $0 }
            return PolicyStatus(
                name: p.name, source: p.source, lastSuccess: iso(s.lastSuccess), ageSeconds: age, rpoSeconds: rpo,
                late: age.map { $0 > rpo } ?? true, lastOutcome: s.lastOutcome, lastError: s.lastError,
                lastSnapshot: s.lastSnapshot, lastDurationSeconds: s.lastDurationSeconds,
                lastDowntimeSeconds: s.lastDowntimeSeconds, lastVerifySuccess: iso(s.lastVerifySuccess),
                lastVerifyErrors: s.lastVerifyErrors, lastDrillSeconds: s.lastDrillSeconds,
                lastDrillBytes: s.lastDrillBytes, lastDrillBytesPerSecond: s.lastDrillBytesPerSecond,
                nextRun: iso(scheduler.entry(.backup(policy: p.name))?.nextRun.timeIntervalSince1970),
                snapshots: s.snapshots, lastVerifyPacksRead: s.lastVerifyPacksRead,
                verifyWindowReadShare: s.verifyCoverage?.share,
                verifyOldestUnreadSeconds: s.verifyCoverage?.oldestUnreadAge(now: now),
                retentionPending: s.retentionPending ?? false, chain: s.chainCheck)
        }
        var scheduled: [String: String] = [:]
        for key in scheduler.keys {
            scheduled[key.description] = iso(scheduler.entry(key)?.nextRun.timeIntervalSince1970)
        }
        let (stopping, reloads) = loop.withLock { ($0.stopping, $0.reloads) }
        let (running, started, finished) = book.withLock { book in
            (withProgress(book.running.flatMap { book.record($0) }, book.progress), book.started, book.finished)
        }
        return Status(
            version: Self.version, ready: ready, stopping: stopping, running: running,
            queued: queue.pending.map(\.description), jobsStarted: started, jobsFinished: finished,
            reloads: reloads, scheduled: scheduled, policies: list)
    }

    func metrics() -> String {
        let ready = readiness().allSatisfy(\.1)
        let policies = self.policies
        let state = state.read { $0 }
        let views = policies.values.sorted { $0.name < $1.name }.map { p in
            DaemonMetrics.PolicyView(
                name: p.name, rpoSeconds: p.rpo.seconds ?? 0,
                nextBackup: scheduler.entry(.backup(policy: p.name))?.nextRun.timeIntervalSince1970,
                state: state.policies[p.name] ?? PolicyState())
        }
        let running = book.withLock { $0.running }
        return DaemonMetrics.render(
            version: Self.version, policies: views, state: state, now: Date().timeIntervalSince1970,
            running: running, ready: ready)
            + monitoringMetrics(
                policies: policies, state: state, loop: loop.withLock { $0 }, probe: probe.withLock { $0 })
    }

    func liveness() -> HTTPResponse {
        let age = Date().timeIntervalSince(loop.withLock { $0.lastTick })
        return age < 10
            ? HTTPResponse(status: 200, text: "ok")
            : HTTPResponse(status: 503, text: "main loop stalled for \(Int(age)) s")
    }

    func readinessResponse(_ request: HTTPRequest) -> HTTPResponse {
        let checks = readiness()
        let ok = checks.allSatisfy(\.1)
        let text =
            request.query.split(separator: "&").contains("verbose")
            ? checks.map { "[\($0.1 ? "+" : "-")]\($0.0): \($0.2)" }.joined(separator: "\n") + "\n"
                + (ok ? "ready" : "not ready")
            : (ok
                ? "ready" : "not ready: " + checks.filter { !$0.1 }.map { "\($0.0) (\($0.2))" }.joined(separator: ", "))
        return HTTPResponse(status: ok ? 200 : 503, text: text)
    }

    func metricsResponse() -> HTTPResponse {
        HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: Array(metrics().utf8))
    }

    func jobResponse(_ id: String) -> HTTPResponse {
        guard let job = book.withLock({ withProgress($0.records[id], $0.progress) }) else {
            return HTTPResponse(status: 404, text: "no job \(id)")
        }
        return json(200, job)
    }

    /// A backup or verify of one policy, now: `kind` makes the job of the policy the path names.
    func trigger(_ kind: (String) -> JobKind, _ request: APIRequest) -> HTTPResponse {
        let name = request["name"]
        guard policies[name] != nil else { return HTTPResponse(status: 404, text: "no policy \(name)") }
        if state.read({ $0.disabledPolicies?.contains(name) == true }) {
            return HTTPResponse(
                status: 409, text: "policy \(name) is disabled; enable it with POST /v1/policies/\(name)/enable")
        }
        let id = enqueue(kind(name), actor: request.caller?.actor ?? "api")
        return json(202, ["job": id])
    }
}
