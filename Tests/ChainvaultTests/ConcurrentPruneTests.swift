import Foundation
import Glibc
import Testing
import VaultCore

/// A prune while a backup runs in another PID namespace (a container sharing the host name),
/// with and without a clock offset, and with the backup's lock wrongly removed: the backup either
/// fails clearly or its snapshot restores byte-identical, and the repository verifies clean.
struct ConcurrentPruneTests {
    static let faketime = "/usr/bin/faketime"
    static let hasFaketime = FileManager.default.isExecutableFile(atPath: faketime)
    static let canUnsharePID: Bool = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        p.arguments = ["--pid", "--fork", "--mount-proc", "/bin/true"]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()

    enum Interference: String, CaseIterable, CustomTestStringConvertible {
        case prune, pruneWithClockOneHourAhead, lockRemovedThenPrune
        var testDescription: String { rawValue }
    }

    @Test(.enabled(if: canUnsharePID, "needs 'unshare --pid --fork --mount-proc' (root)"))
    func aPruneDuringABackupInAnotherPIDNamespaceLosesNothing() throws {
        try scenario(.prune)
    }

    @Test(
        .enabled(if: canUnsharePID, "needs 'unshare --pid --fork --mount-proc' (root)"),
        .enabled(if: hasFaketime, "faketime is not installed (apt-get install faketime; .ci/setup does)"))
    func aPruneWhoseClockIsAnHourAheadLosesNothing() throws {
        try scenario(.pruneWithClockOneHourAhead)
    }

    @Test(.enabled(if: canUnsharePID, "needs 'unshare --pid --fork --mount-proc' (root)"))
    func aBackupWhoseLockWasRemovedFailsClearlyAndCommitsNothing() throws {
        try scenario(.lockRemovedThenPrune)
    }

    func scenario(_ interference: Interference) throws {
        let w = try Workspace()
        try w.ok(["init"])
        // Snapshot A holds `shared`; the backup B under test reuses it (dedup) and adds more than a
        // pack of new data, so it stores a pack long before it commits anything.
        let shared = SecureRandom.bytes(3_000_000)
        try w.write("a/shared.bin", shared)
        let first = try #require(try w.ok(["backup", w.path("a"), "--json"]).json["snapshot"] as? String)
        try w.write("b/shared.bin", shared)
        try w.write("b/new.bin", SecureRandom.bytes(24_000_000))

        let backup = try PausedBackup(w, source: w.path("b"))
        defer { backup.kill() }
        try backup.waitUntilStopped()

        var prune: Workspace.Run
        switch interference {
        case .prune:
            prune = try w.run(["forget", first, "--prune"])
        case .pruneWithClockOneHourAhead:
            prune = try w.run(["-f", "+1h", Workspace.binary, "forget", first, "--prune"], executable: Self.faketime)
        case .lockRemovedThenPrune:
            try w.ok(["unlock", "--remove-all"])
            prune = try w.run(["forget", first, "--prune"])
        }
        let result = try backup.resumeAndWait()

        if result.code == 0 {
            let snapshot = try #require(result.json["snapshot"] as? String, "\(result.stdout)")
            try w.ok(["restore", snapshot, "--target", w.path("out")])
            #expect(
                try treeDifferences(w.path("b"), w.path("out")) == [], "the backup's snapshot restores byte-identical")
        } else {
            #expect(
                result.code == 12 && result.stderr.contains("was removed by another process")
                    && result.stderr.contains("nothing was committed"), "fails clearly: \(result.code) \(result.stderr)"
            )
            let snapshots = try w.ok(["snapshots", "--json"]).stdout
            #expect(!snapshots.contains(w.path("b")), "no snapshot of the failed backup: \(snapshots)")
        }
        let verify = try w.run(["verify", "--read-data"])
        #expect(verify.code == 0, "verify after \(interference): \(verify.stdout) \(verify.stderr)")

        // What this version does in each case (the rule above is what must hold for any version).
        switch interference {
        case .prune, .pruneWithClockOneHourAhead:
            #expect(
                prune.code == 12 && prune.stderr.contains("locked"),
                "the live lock keeps the prune out: \(prune.stderr)")
            #expect(result.code == 0, "\(result.stderr)")
        case .lockRemovedThenPrune:
            #expect(prune.code == 0, "\(prune.stderr)")
            #expect(
                prune.stdout.contains("unindexed pack(s) younger than"),
                "the backup's stored pack is kept: \(prune.stdout)")
            #expect(result.code == 12, "the backup sees its lock gone and commits nothing: \(result.stderr)")
            // The next backup stores again what the prune deleted.
            try w.ok(["backup", w.path("b")])
            // Two sources (a and b) in the repository: `latest` of which one must be said.
            try w.ok(["restore", "latest", "--target", w.path("again"), "--source", w.path("b")])
            #expect(try treeDifferences(w.path("b"), w.path("again")) == [])
        }
    }
}

/// A `chainvault backup` in a new PID namespace that stops itself (SIGSTOP) right after it stored
/// its first pack (`CHAINVAULT_TEST_STOP_AT=pack-stored`), before it indexed or committed anything.
final class PausedBackup {
    let process = Process()
    let stdoutPath: String
    let stderrPath: String
    let source: String
    private var pid: pid_t = 0

    /// `at`: the failpoint it stops at (`Failpoint.stop`).
    init(_ w: Workspace, source: String, at failpoint: String = "pack-stored") throws {
        self.source = source
        stdoutPath = w.path("paused.out")
        stderrPath = w.path("paused.err")
        // Pad the namespace's pids so the backup's pid is one that does not exist outside it: a
        // checker outside that looks the pid up finds nothing, as across real containers.
        var inner: Int32 = 64
        while access("/proc/\(inner)", F_OK) == 0 { inner += 1 }
        let script = "i=2; while [ $i -lt \(inner) ]; do /bin/true; i=$((i+1)); done; \"$@\"; exit $?"
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments = [
            "--pid", "--fork", "--mount-proc", "--kill-child", "/bin/sh", "-c", script, "sh",
            Workspace.binary, "backup", source, "--json"
        ]
        process.environment = w.environment.merging(["CHAINVAULT_TEST_STOP_AT": failpoint]) { $1 }
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
    }

    /// Waits (up to two minutes) until the backup process reports itself stopped in /proc.
    func waitUntilStopped() throws {
        let deadline = Date() + 120
        while Date() < deadline {
            if pid == 0 { pid = findBackup() ?? 0 }
            if pid != 0, state(pid) == "T" { return }
            if !process.isRunning {
                Issue.record(
                    "the backup ended before it stopped: \(String(decoding: (try? Posix.readFile(stderrPath)) ?? [], as: UTF8.self))"
                )
                throw VaultError(.failure, "backup did not pause")
            }
            usleep(20_000)
        }
        Issue.record("the backup did not stop at its failpoint within 120 s")
        throw VaultError(.failure, "backup did not pause")
    }

    func resumeAndWait() throws -> Workspace.Run {
        Glibc.kill(pid, SIGCONT)
        process.waitUntilExit()
        return Workspace.Run(
            code: process.terminationStatus,
            stdout: String(decoding: try Posix.readFile(stdoutPath), as: UTF8.self),
            stderr: String(decoding: try Posix.readFile(stderrPath), as: UTF8.self))
    }

    func kill() {
        guard process.isRunning else { return }
        if pid != 0 { Glibc.kill(pid, SIGKILL); Glibc.kill(pid, SIGCONT) }
        process.waitUntilExit()
    }

    /// The outer pid of the `chainvault backup SOURCE` process: its argv names the binary and source.
    private func findBackup() -> pid_t? {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let p = Int32(name), let cmdline = procFile("/proc/\(p)/cmdline") else { continue }
            let argv = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if argv.first == Workspace.binary, argv.count >= 3, argv[1] == "backup", argv[2] == source { return p }
        }
        return nil
    }

    private func state(_ pid: pid_t) -> String? {
        guard let stat = procFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: UInt8(ascii: ")")),
            close + 2 < stat.count
        else { return nil }
        return String(decoding: [stat[close + 2]], as: UTF8.self)
    }
}

/// /proc files report size 0, so they are read to end of file rather than by their size.
private func procFile(_ path: String) -> [UInt8]? {
    FileHandle(forReadingAtPath: path).flatMap { handle in
        defer { try? handle.close() }
        return (try? handle.readToEnd()).map { Array($0) }
    }
}
