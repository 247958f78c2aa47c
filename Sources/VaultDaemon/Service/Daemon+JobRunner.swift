import Dispatch
import Foundation
import VaultCore
import VaultEngine
import VaultRepository

/// The job runner: queues a job once, runs one at a time on its own thread, and records its
/// outcome in memory (`book`), in state.json, in the audit log, the journal and the webhooks.
extension Daemon {
    /// Queues a job once; returns its id (the waiting or running one if already there).
    @discardableResult
    func enqueue(
        _ key: JobKind, actor: String, restore: RestoreOptions? = nil, policy restorePolicy: String? = nil,
        detail: [String: String] = [:]
    ) -> String {
        book.withLock { book in
            if let id = book.idForKey[key], let j = book.records[id], j.state.isActive { return id }
            let id = Hex.encode(SecureRandom.bytes(6))
            book.records[id] = JobRecord(
                id: id, kind: key.action, policy: restorePolicy ?? key.policy, state: .queued,
                queued: Date().timeIntervalSince1970,
                detail: detail.merging(["requestedBy": actor]) { $1 })
            book.order.append(id)
            if book.order.count > 500 { book.records[book.order.removeFirst()] = nil }
            book.idForKey[key] = id
            if let restore { book.restoreRequests[key] = restore }
            queue.enqueue(key)
            return id
        }
    }

    /// Starts `key` on a thread of its own, which signals `jobDone` when the job is recorded.
    func startJob(_ key: JobKind) -> Thread {
        let cancellation = Cancellation()
        let scheduled = scheduler.entry(key) != nil
        // The state file first: whoever sees the job counted as started finds it there too.
        state.update(save: true) { state in
            state.runningJob = key.description
            if scheduled {
                // Counted before it starts: an attempt that takes the daemon down is still counted.
                var attempts = state.attempts ?? [:]
                let before = attempts[key.description]?.failures ?? 0
                attempts[key.description] = JobAttempts(failures: before + 1, lastStart: Date().timeIntervalSince1970)
                state.attempts = attempts
            }
        }
        let id = book.withLock { book -> String? in
            book.running = key
            book.cancellation = cancellation
            book.progress = JobProgress()
            book.started += 1
            if let id = book.idForKey[key] {
                book.records[id]?.state = .running
                book.records[id]?.started = Date().timeIntervalSince1970
            }
            return book.idForKey[key]
        }
        scheduler.ran(key, at: Date())
        jobStarted(key, id: id)
        notifier.status("running \(key)")
        let t = Thread { [self] in
            execute(key, cancellation: cancellation)
            jobDone.signal()
        }
        t.name = "job"
        t.stackSize = 4 << 20
        t.start()
        return t
    }

    /// Runs one job on the job thread; records its outcome in memory, in state.json and in the
    /// audit log. Never throws: a failed job is a failed job, the daemon goes on.
    func execute(_ key: JobKind, cancellation: Cancellation) {
        let started = Date()
        let id = book.withLock { $0.idForKey[key] } ?? "?"
        var detail: [String: String] = [:]
        var outcome = JobState.succeeded
        var errorText: String?
        do {
            detail = try perform(key, cancellation: cancellation)
            loop.withLock { $0.lastContact = Date() }
        } catch {
            let e = error as? VaultError
            errorText = e.map { $0.message + ($0.causeDescription.map { " (\($0))" } ?? "") } ?? "\(error)"
            // Stopped by SIGTERM at a safe point: not a failure (health stays OK), retried later.
            outcome = e?.code == .interrupted ? .interrupted : .failed
            if outcome == .interrupted { errorText = "interrupted" }
        }
        let seconds = Date().timeIntervalSince(started)
        let failures = state.update(save: true) { state -> Int? in
            if case .backup(let p) = key {
                var s = state.policies[p, default: PolicyState()]
                s.lastBackupStart = started.timeIntervalSince1970
                s.lastDurationSeconds = seconds
                s.lastOutcome = outcome.rawValue
                s.lastError = errorText
                switch outcome {
                case .succeeded: s.runsSucceeded += 1; s.lastSuccess = Date().timeIntervalSince1970
                case .interrupted: s.runsInterrupted = (s.runsInterrupted ?? 0) + 1
                default: s.runsFailed += 1
                }
                state.policies[p] = s
            }
            if outcome == .succeeded { state.attempts?[key.description] = nil }
            if case .restore = key {
                if outcome == .succeeded { state.restoresSucceeded += 1 } else { state.restoresFailed += 1 }
                state.lastRestoreSeconds = seconds
            }
            state.runningJob = nil
            return state.attempts?[key.description]?.failures
        }
        let record = book.withLock { book -> JobRecord? in
            book.records[id]?.state = outcome
            book.records[id]?.finished = Date().timeIntervalSince1970
            book.records[id]?.error = errorText
            book.records[id]?.detail.merge(detail) { $1 }
            book.records[id]?.snapshot = detail["snapshot"]
            book.running = nil
            book.progress = nil
            return book.records[id]
        }
        if outcome != .succeeded, let failures { scheduler.failed(key, failures: failures, startedAt: started) }
        queue.finish(key)
        var auditDetails = detail
        auditDetails["job"] = id
        // An approved action's entry names its approvers next to its requester (the actor).
        if let approvers = record?.detail["approvedBy"] { auditDetails["approvedBy"] = approvers }
        if let errorText { auditDetails["error"] = errorText }
        // The subject names the job's policy (a restore's is in its record: its key names the request).
        _ = try? audit.append(
            actor: record?.detail["requestedBy"] ?? "daemon", action: key.action,
            subject: record?.policy.map { "policy \($0)" } ?? key.description,
            result: outcome.rawValue, details: auditDetails)
        mirrorAudit()
        log(
            outcome == .succeeded ? 6 : 3, "job",
            [
                ("job", id), ("kind", key.description), ("result", outcome.rawValue),
                ("seconds", String(format: "%.1f", seconds))
            ]
                + detail.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
                + (errorText.map { [("error", $0)] } ?? []))
        jobFinished(key, id: id, outcome: outcome, error: errorText, detail: detail, seconds: seconds)
        notifier.status("\(policies.count) policies, idle; last: \(key) \(outcome.rawValue)")
        // Last: "finished" means the job thread is done, audit mirror (and its key use) included.
        book.withLock { $0.finished += 1 }
    }

    /// Copies the audit log into the repository after each job (best effort: a failure is logged,
    /// the local log stays authoritative).
    func mirrorAudit() {
        do {
            let bytes = try Posix.readFile(audit.path)
            let last = AuditLog.tail(bytes).0
            try openForJob().mirrorAudit(host: ProcessInfo.processInfo.hostName, lastSequence: last, log: bytes)
        } catch {
            log(4, "audit-mirror", [("result", "failed"), ("error", (error as? VaultError)?.message ?? "\(error)")])
        }
    }
}
