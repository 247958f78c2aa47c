import Foundation
import Glibc
import VaultCore
import VaultRepository

/// A restore drill into a scratch directory that the policy names (`restoreDrill.scratch`,
/// FORMAT.md §8 "Drills"): checked for free space before anything is written, the snapshot
/// restored there by the restorer itself (every chunk fetched, authenticated and hash-checked as
/// it is written), the restored tree read back and compared with the snapshot, and removed
/// afterwards whatever happened. What `SnapshotDrill` proves without a disk, plus the writing.
public final class ScratchDrill {
    private let repository: Repository
    private let scratch: String
    private let progress: JobProgress?
    private let cancellation: Cancellation
    private let refused: [String]

    /// `refused`: directories a restore must never write into (the repository, the state directory).
    public init(
        repository: Repository, scratch: String, refused: [String] = [], progress: JobProgress? = nil,
        cancellation: Cancellation = Cancellation()
    ) {
        self.repository = repository; self.scratch = scratch; self.refused = refused
        self.progress = progress; self.cancellation = cancellation
    }

    /// Per directory entry beyond its bytes (inode, directory block): counted in the space needed.
    static let entryOverhead: UInt64 = 4096

    public func run(_ record: SnapshotRecord) throws -> DrillResult {
        let started = Date()
        guard let st = try Posix.lstat(scratch), (st.st_mode & S_IFMT) == S_IFDIR else {
            throw VaultError(
                .usage, "restore drill scratch directory \(scratch) does not exist or is not a directory",
                hint: "create it (on a disk with room for a whole snapshot) or change restoreDrill.scratch")
        }
        let stats = record.snapshot.stats
        let needed = stats.bytesTotal &+ (stats.files &+ stats.directories) &* Self.entryOverhead
        var fs = statvfs()
        let scratchFD = try Posix.open(scratch, O_RDONLY | O_DIRECTORY)
        defer { Posix.close(scratchFD) }
        if fstatvfs(scratchFD, &fs) == 0 {
            let free = UInt64(fs.f_bavail) &* UInt64(fs.f_frsize)
            if free < needed {
                throw VaultError(
                    .storageFull,
                    "restore drill of \(record.shortID) needs \(Self.mebibytes(needed)) "
                        + "(\(needed) bytes) in scratch directory \(scratch), which has \(Self.mebibytes(free)) free",
                    hint: "free at least \(Self.mebibytes(needed - free)) there or name a larger scratch "
                        + "directory in restoreDrill.scratch; nothing was written")
            }
        }
        let cleared = try clearInterrupted(scratchFD)
        // The drill's own directory holds its marker before anything is restored into it (as
        // `tree`), so one left by a killed drill is known as ours: the next drill removes it, and a
        // backup of a source holding it at its root skips it (WorkingNames).
        let drill =
            scratch + "/" + WorkingNames.drillPrefix + Restorer.stamp(started) + "-"
            + Hex.encode(SecureRandom.bytes(3))
        let target = drill + "/tree"
        try Posix.mkdirAt(scratchFD, Array(Path.base(drill).utf8), mode: 0o700, display: drill)
        // Removed whether the drill passes or not: a scratch directory must not fill up with drills.
        defer { try? Posix.removeTree(drill) }
        try writeMarker(drill)
        var options = RestoreOptions(snapshot: record.id.hex, target: target)
        options.requireEmpty = true
        options.refusedTargets = refused
        let restored = try Restorer(
            repository: repository, options: options, progress: progress,
            cancellation: cancellation
        ).run()
        progress?.setPhase("comparing")
        let compared = try RestoredTreeComparison(repository: repository, root: target, cancellation: cancellation)
            .compare(record)
        if !compared.problems.isEmpty {
            throw VaultError(
                .corrupt,
                "restore drill of \(record.shortID): \(compared.problems.count) entries restored "
                    + "into \(scratch) differ from the snapshot: "
                    + compared.problems.prefix(3).joined(separator: "; "),
                hint: "run 'chainvault verify --read-data \(record.shortID)' and restore from another snapshot")
        }
        return DrillResult(
            snapshotID: record.id, files: compared.files, directories: compared.directories,
            bytes: compared.bytes, chunks: UInt64(compared.chunks.count), bytesFetched: restored.bytesFetched,
            seconds: Date().timeIntervalSince(started), clearedScratch: cleared)
    }

    /// Directories of earlier drills that were killed before removing theirs: only those holding
    /// the drill marker are removed (and returned); anything else in scratch is not the drill's.
    private func clearInterrupted(_ scratchFD: Int32) throws -> [String] {
        var cleared: [String] = []
        for name in try DirectoryListing.entries(of: scratchFD, path: scratch)
        where name.starts(with: WorkingNames.drillPrefix.utf8) && WorkingNames.ours(name, in: scratchFD) != nil {
            let path = scratch + "/" + FileName.display(name)
            try Posix.removeTree(path)
            cleared.append(path)
        }
        return cleared
    }

    private func writeMarker(_ drill: String) throws {
        let shown = drill + "/" + WorkingNames.drillMarker
        let fd = try Posix.open(shown, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
        defer { Posix.close(fd) }
        let text = Array("the scratch directory of a chainvault restore drill, removed when it ends\n".utf8)
        try text.withUnsafeBytes { try Posix.writeAll(fd, $0, path: shown) }
        try Posix.fsync(fd, path: shown)
        try Posix.fsyncDirectory(drill)
    }

    static func mebibytes(_ n: UInt64) -> String { String(format: "%.1f MiB", Double(n) / 1_048_576) }
}
