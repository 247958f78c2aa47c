import Foundation
import VaultCore
import VaultEngine
import VaultRepository
import VaultStorage

/// A policy's backup with its consistency mode:
/// - `live`: one pass while the node runs (for append-only data).
/// - `stop`: pre-hook (stop the node), one pass, post-hook (start it). The post-hook runs whatever
///   happened before it, even when the pre-hook or the backup failed.
/// - `two-phase`: a live pass first (reads nearly everything while the node runs), then stop, a
///   second pass that re-reads only files changed since the first (size, mtime, ctime, inode),
///   then start. Downtime is proportional to what changed, not to the data size. The live pass's
///   snapshot only serves as the parent and is removed afterwards.
public enum ConsistentBackup {
    public struct Result: Sendable {
        public var backup: BackupResult
        /// From the start of the pre-hook to the end of the post-hook; nil in live mode.
        public var downtimeSeconds: Double?
        public var livePassSeconds: Double?
    }

    public static let defaultHookTimeout = 300

    /// `chainStateDirectory`: where the policy's incremental chain state lives (`PolicyChainState`);
    /// nil checks the whole chain on every backup.
    public static func run(
        _ policy: Policy, repository: Repository, chainStateDirectory: String? = nil,
        cancellation: Cancellation = Cancellation(),
        progress: JobProgress? = nil, logger: DaemonLogger? = nil
    ) throws -> Result {
        var options = BackupOptions(source: policy.source)
        options.excludes = policy.exclude ?? []
        options.includes = policy.include ?? []
        options.tags = policy.tags ?? []
        options.policy = policy.name
        options.chain = policy.chain
        options.chainCheck = policy.chainCheck.flatMap(ChainCheckMode.init(rawValue:)) ?? .recorded
        if let chainStateDirectory, options.chainCheck != .off, policy.chain != nil {
            options.chainStatePath = PolicyChainState.prepare(
                policy: policy.name, source: policy.source,
                stateDirectory: chainStateDirectory)
        }
        let timeout = Double(policy.consistency.timeoutSeconds ?? defaultHookTimeout)

        func pass(_ o: BackupOptions) throws -> BackupResult {
            try Archiver(repository: repository, options: o, progress: progress, cancellation: cancellation).run()
        }

        switch policy.consistency.mode {
        case .live:
            return Result(backup: try pass(options), downtimeSeconds: nil, livePassSeconds: nil)
        case .stop, .twoPhase:
            var livePass: BackupResult?
            var livePassSeconds: Double?
            if policy.consistency.mode == .twoPhase {
                let t0 = Date()
                var liveOptions = options
                liveOptions.tags.append("chainvault:live-pass")
                livePass = try pass(liveOptions)
                livePassSeconds = Date().timeIntervalSince(t0)
                logger?.log(
                    6, "backup_phase",
                    [
                        ("policy", policy.name), ("phase", "live"), ("snapshot", livePass!.snapshotID.shortHex),
                        ("seconds", String(format: "%.1f", livePassSeconds!))
                    ])
                options.parent = livePass!.snapshotID.hex
            }
            defer {
                // The live pass was only a parent; its data is shared with the final snapshot.
                if let live = livePass { try? repository.forget([repository.loadSnapshot(live.snapshotID)]) }
            }
            let stopStarted = Date()
            let pre = HookRunner.run(policy.consistency.pre ?? [], timeout: timeout)
            pre.logOutput(logger, policy: policy.name, hook: "pre")
            logger?.log(
                pre.succeeded ? 6 : 3, "hook",
                [
                    ("policy", policy.name), ("hook", "pre"), ("result", pre.summary),
                    ("seconds", String(format: "%.1f", pre.seconds))
                ])
            var outcome: Swift.Result<BackupResult, Error>
            if pre.succeeded {
                do { outcome = .success(try pass(options)) } catch { outcome = .failure(error) }
            } else {
                outcome = .failure(
                    VaultError(
                        .failure,
                        "pre-hook \(policy.consistency.pre ?? []) of policy \(policy.name) \(pre.summary); no backup was taken",
                        cause: pre.output.isEmpty ? nil : CauseText(pre.output),
                        hint: "run the hook by hand to see why it fails"))
            }
            // Always start the node again.
            let post = HookRunner.run(policy.consistency.post ?? [], timeout: timeout)
            let downtime = Date().timeIntervalSince(stopStarted)
            post.logOutput(logger, policy: policy.name, hook: "post")
            logger?.log(
                post.succeeded ? 6 : 3, "hook",
                [
                    ("policy", policy.name), ("hook", "post"), ("result", post.summary),
                    ("downtime_seconds", String(format: "%.1f", downtime))
                ])
            if !post.succeeded {
                throw VaultError(
                    .failure,
                    "post-hook \(policy.consistency.post ?? []) of policy \(policy.name) \(post.summary): THE NODE MAY STILL BE STOPPED",
                    cause: post.output.isEmpty ? nil : CauseText(post.output),
                    hint: "start the node by hand now, then fix the hook")
            }
            return Result(backup: try outcome.get(), downtimeSeconds: downtime, livePassSeconds: livePassSeconds)
        case nil:
            throw VaultError(
                .usage, "policy \(policy.name) has an unknown consistency mode '\(policy.consistency.modeName)'")
        }
    }
}
