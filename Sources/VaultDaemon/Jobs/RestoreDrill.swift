import Foundation
import VaultCore
import VaultEngine
import VaultRepository

/// A test restore of a snapshot into scratch space: its duration is the measured recovery time.
/// It passes when every file the snapshot stores was restored. Stored, not seen: a backup that
/// could not read a file counts it in its statistics but stores no entry for it, and comparing
/// with that count made every drill of such a snapshot fail.
public enum RestoreDrill {
    public struct Result: Sendable {
        public var started: Date
        public var seconds: Double
        public var files: UInt64
    }

    public static func run(_ repo: Repository, snapshot: SnapshotRecord, scratch: String, progress: JobProgress?,
                           cancellation: Cancellation) throws -> Result {
        try? Posix.removeTree(scratch)
        defer { try? Posix.removeTree(scratch) }
        let started = Date()
        let restored = try Restorer(repository: repo, options: RestoreOptions(snapshot: snapshot.id, target: scratch),
                                    progress: progress, cancellation: cancellation).run()
        let seconds = Date().timeIntervalSince(started)
        let stored = try storedFiles(repo, snapshot: snapshot)
        guard restored.files == stored else {
            throw VaultError(.corrupt,
                             "restore drill of \(snapshot.shortID) restored \(restored.files) files, the snapshot has \(stored)",
                             hint: "run 'chainvault verify --read-data \(snapshot.shortID)' to see what is damaged")
        }
        return Result(started: started, seconds: seconds, files: restored.files)
    }

    /// The file entries in a snapshot's trees, each occurrence counted (a directory stored once
    /// but present twice is restored twice). Iterative: directory depth is the source's to choose.
    public static func storedFiles(_ repo: Repository, snapshot: SnapshotRecord) throws -> UInt64 {
        guard let root = snapshot.snapshot.treeID else {
            throw VaultError(.corrupt, "snapshot \(snapshot.shortID) names no valid root tree")
        }
        let codec = repo.makeCodec()
        var pending = [root]
        var files: UInt64 = 0
        while let id = pending.popLast() {
            for node in try repo.loadTree(id, codec: codec).nodes {
                switch node.kind {
                case .file: files += 1
                case .directory: if let sub = node.subtree { pending.append(sub) }
                default: break
                }
            }
        }
        return files
    }
}
