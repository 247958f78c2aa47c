import Foundation
import VaultCore
import VaultEngine
import VaultRepository

/// A restore drill: proves the snapshot restores, reading and checking every tree and chunk as a
/// restore would, without writing a second tree onto the node's disk (`SnapshotDrill`). Its
/// duration is the measured recovery time (RTO estimate). It passes when every file the snapshot
/// stores was checked. Stored, not seen: a backup that could not read a file counts it in its
/// statistics but stores no entry for it, and comparing with that count made every drill of such
/// a snapshot fail.
public enum RestoreDrill {
    public struct Result: Sendable {
        public var started: Date
        public var seconds: Double
        public var files: UInt64
        /// The bytes a restore writes, and that per second.
        public var bytes: UInt64
        public var bytesPerSecond: Double
        /// Scratch directories of interrupted drills removed first (ScratchDrill).
        public var clearedScratch: [String] = []
    }

    /// `scratch`: the policy's scratch directory (restored there, compared, removed), else none.
    /// `refused`: what a restore into scratch must never overlap (the repository, the state).
    public static func run(
        _ repo: Repository, snapshot: SnapshotRecord, scratch: String? = nil, refused: [String] = [],
        progress: JobProgress?, cancellation: Cancellation
    ) throws -> Result {
        let started = Date()
        let drilled: DrillResult
        if let scratch {
            drilled = try ScratchDrill(
                repository: repo, scratch: scratch, refused: refused, progress: progress,
                cancellation: cancellation
            ).run(snapshot)
        } else {
            drilled = try SnapshotDrill(repository: repo, progress: progress, cancellation: cancellation).run(snapshot)
        }
        let stored = try storedFiles(repo, snapshot: snapshot)
        guard drilled.files == stored else {
            throw VaultError(
                .corrupt,
                "restore drill of \(snapshot.shortID) checked \(drilled.files) files, "
                    + "the snapshot has \(stored)",
                hint: "run 'chainvault verify --read-data \(snapshot.shortID)' to see what is damaged")
        }
        return Result(
            started: started, seconds: drilled.seconds, files: drilled.files, bytes: drilled.bytes,
            bytesPerSecond: drilled.bytesPerSecond, clearedScratch: drilled.clearedScratch)
    }

    /// The file entries in a snapshot's trees, each occurrence counted (a directory stored once
    /// but present twice is restored twice). Iterative (`TreeWalker`): the depth is the source's.
    public static func storedFiles(_ repo: Repository, snapshot: SnapshotRecord) throws -> UInt64 {
        let root = snapshot.snapshot.tree
        var files: UInt64 = 0
        try TreeWalker(repository: repo, codec: repo.makeCodec()).walk(root: root) { _, node in
            if node.kind == .file { files += 1 }
            return .descend
        }
        return files
    }
}
