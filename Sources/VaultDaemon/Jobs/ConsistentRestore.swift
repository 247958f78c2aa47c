import Foundation
import Glibc
import VaultCore
import VaultEngine

/// A restore the API asked for. Into the policy's own source (the live node's directory) with a
/// `stop` or `two-phase` policy, the node must not run while its directory is replaced: the pre
/// hook stops it, the restore runs, and the post hook starts it again whatever happened (after a
/// failed pre hook or restore too), except on a half-restored tree: a failed restore whose journal
/// is still pending leaves the node stopped and says what finishes or undoes it. Its downtime runs
/// from the pre hook's end to the post hook's end. Any other target (a scratch copy, another disk)
/// is restored with no hook: the node runs.
public enum ConsistentRestore {
    public struct Result: Sendable {
        public var restore: RestoreResult
        public var downtimeSeconds: Double?
    }

    /// What `/v1/jobs/{id}` shows while and after it runs.
    public struct Report: Sendable {
        public var phases: [JobPhase] = []
        public var downtimeSeconds: Double?
    }

    /// True when `target` is the policy's source (as written or where symlinks lead) and the
    /// policy stops its node for consistency: live-mode policies have no hooks.
    public static func stopsNode(_ policy: Policy, target: String) -> Bool {
        let hooks = (policy.consistency.pre ?? []) + (policy.consistency.post ?? [])
        guard policy.consistency.mode != .live, !hooks.isEmpty else { return false }
        func names(_ path: String) -> Set<String> {
            let absolute = Path.absolute(path)
            return Set([absolute] + [resolved(absolute)].compactMap { $0 })
        }
        return !names(target).isDisjoint(with: names(policy.source))
    }

    public static func run(
        _ policy: Policy, target: String, report: (Report) -> Void,
        logger: DaemonLogger? = nil, restore: () throws -> RestoreResult
    ) throws -> Result {
        var state = Report()
        func begin(_ name: String) {
            state.phases.append(JobPhase(name: name, started: Date().timeIntervalSince1970))
            report(state)
        }
        func end(_ error: String?, outcome: String? = nil) {
            state.phases[state.phases.count - 1].finished = Date().timeIntervalSince1970
            state.phases[state.phases.count - 1].outcome =
                outcome ?? (error == nil ? JobState.succeeded : .failed).rawValue
            state.phases[state.phases.count - 1].error = error
            report(state)
        }
        guard stopsNode(policy, target: target) else {
            begin("restoring")
            do {
                let r = try restore()
                end(nil)
                return Result(restore: r, downtimeSeconds: nil)
            } catch {
                end(message(error))
                throw error
            }
        }
        let timeout = Double(policy.consistency.timeoutSeconds ?? ConsistentBackup.defaultHookTimeout)
        begin("stopping-node")
        let pre = HookRunner.run(policy.consistency.pre ?? [], timeout: timeout)
        let stopped = Date()
        end(pre.succeeded ? nil : "pre-hook \(pre.summary)")
        pre.logOutput(logger, policy: policy.name, hook: "restore-pre")
        logger?.log(
            pre.succeeded ? 6 : 3, "hook",
            [
                ("policy", policy.name), ("hook", "restore-pre"), ("result", pre.summary),
                ("seconds", String(format: "%.1f", pre.seconds))
            ])
        var outcome: Swift.Result<RestoreResult, Error>
        if pre.succeeded {
            begin("restoring")
            do { outcome = .success(try restore()); end(nil) } catch { outcome = .failure(error); end(message(error)) }
        } else {
            // The node may still run: its directory is not touched.
            outcome = .failure(
                VaultError(
                    .failure,
                    "pre-hook \(policy.consistency.pre ?? []) of policy \(policy.name) "
                        + "\(pre.summary); nothing was restored into \(target)",
                    cause: pre.output.isEmpty ? nil : CauseText(pre.output),
                    hint: "run the hook by hand to see why it fails"))
        }
        // A restore that failed with its journal pending (undoing it failed too, or SIGTERM
        // stopped it between steps) left a half-restored tree: the node must not start on it.
        if pre.succeeded, case .failure(let error) = outcome, let pending = Restorer.pendingJournal(in: target) {
            let why = notStarted(target, pending)
            begin("starting-node")
            state.downtimeSeconds = Date().timeIntervalSince(stopped)
            end(why, outcome: "skipped")
            logger?.log(
                3, "hook",
                [
                    ("policy", policy.name), ("hook", "restore-post"), ("result", "skipped"),
                    ("reason", "restore journal pending")
                ])
            let failed = error as? VaultError
            throw VaultError(
                failed?.code == .interrupted ? .failure : failed?.code ?? .failure,
                "\(message(error)); \(why)", cause: failed?.cause,
                hint: "run one of those, then start the node by hand")
        }
        begin("starting-node")
        let post = HookRunner.run(policy.consistency.post ?? [], timeout: timeout)
        state.downtimeSeconds = Date().timeIntervalSince(stopped)
        end(post.succeeded ? nil : "post-hook \(post.summary)")
        post.logOutput(logger, policy: policy.name, hook: "restore-post")
        logger?.log(
            post.succeeded ? 6 : 3, "hook",
            [
                ("policy", policy.name), ("hook", "restore-post"), ("result", post.summary),
                ("downtime_seconds", String(format: "%.1f", state.downtimeSeconds ?? 0))
            ])
        if !post.succeeded {
            let failed = outcome.failureMessage.map { "; the restore failed too: " + $0 } ?? ""
            throw VaultError(
                .failure,
                "post-hook \(policy.consistency.post ?? []) of policy \(policy.name) "
                    + "\(post.summary): THE NODE MAY STILL BE STOPPED\(failed)",
                cause: post.output.isEmpty ? nil : CauseText(post.output),
                hint: "start the node by hand now, then fix the hook")
        }
        return Result(restore: try outcome.get(), downtimeSeconds: state.downtimeSeconds)
    }

    /// Why the post hook did not run, and what finishes the restore or undoes it.
    private static func notStarted(_ target: String, _ pending: (path: String, snapshotID: String)) -> String {
        let snapshot = pending.snapshotID.isEmpty ? "SNAPSHOT" : String(pending.snapshotID.prefix(8))
        return "the node was not started: \(target) is partly restored (its journal \(pending.path) is pending); "
            + "'chainvault restore \(snapshot) --target \(target)' completes it, "
            + "'chainvault restore \(snapshot) --target \(target) --rollback' returns to the tree before it; "
            + "then start the node"
    }

    static func resolved(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    static func message(_ error: Error) -> String { (error as? VaultError)?.message ?? "\(error)" }
}

extension Swift.Result where Failure == Error {
    var failureMessage: String? {
        if case .failure(let e) = self { return ConsistentRestore.message(e) }
        return nil
    }
}
