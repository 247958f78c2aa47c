import Foundation
import Glibc
import Testing
import VaultCore

/// SIGTERM under a bandwidth limit (issue 11, D2): a command whose transfers wait on the token
/// bucket stops within seconds, not when the debt has been paid. Each run is limited so that it
/// would take ≥ 30 s; SIGTERM is sent once it has printed a progress line (waited for on its
/// output, not a sleep), and only an upper bound is asserted: 5 s, which the old code (its wait a
/// `nanosleep` of the whole debt) cannot meet.
struct BandwidthCancelTests {
    static let size = 8 << 20  // 8 MiB at 256 KiB/s: 32 s
    static let rate = "256"

    /// A run of the binary whose stderr is collected as it comes.
    final class Running: @unchecked Sendable {  // `text` only behind `lock`
        let process = Process()
        private let lock = NSCondition()
        private var text = ""
        private var ended = false

        init(_ w: Workspace, _ args: [String]) throws {
            process.executableURL = URL(fileURLWithPath: Workspace.binary)
            process.arguments = args
            process.environment = w.environment
            let err = Pipe()
            process.standardError = err
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let reader = Thread { [self] in
                while true {
                    let d = err.fileHandleForReading.availableData
                    lock.lock()
                    if d.isEmpty { ended = true } else { text += String(decoding: d, as: UTF8.self) }
                    lock.broadcast()
                    lock.unlock()
                    if d.isEmpty { return }
                }
            }
            reader.start()
        }

        /// Waits (at most `seconds`) until stderr contains `needle` or ends.
        func waitForOutput(_ needle: String, within seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            lock.lock()
            defer { lock.unlock() }
            while !text.contains(needle) && !ended && lock.wait(until: deadline) {}
            return text.contains(needle)
        }

        var stderr: String { lock.withLock { text } }

        /// SIGTERM, then the seconds until the process ended (bounded by `limit`) and its status.
        func terminate(within limit: Double) -> (seconds: Double, code: Int32?) {
            let start = Date()
            kill(process.processIdentifier, SIGTERM)
            let deadline = start.addingTimeInterval(limit)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            let took = Date().timeIntervalSince(start)
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return (took, nil)
            }
            process.waitUntilExit()
            return (took, process.terminationStatus)
        }
    }

    @Test func sigtermStopsALimitedStagedRestoreWithinSecondsAndLeavesTheOldTree() throws {
        let w = try Workspace()
        try w.ok(["init"])
        let data = SecureRandom.bytes(Self.size)
        try w.write("src/big", data)
        try w.ok(["backup", w.path("src")])
        let old = SecureRandom.bytes(4096)
        try w.write("out/old-file", old)
        let before = treeFingerprint(w.path("out"))

        let r = try Running(
            w,
            [
                "restore", "latest", "--source", w.path("src"), "--target", w.path("out"), "--force",
                "--limit-download", Self.rate, "--progress-interval", "1s"
            ])
        #expect(r.waitForOutput("progress: restore", within: 60), "no progress line: \(r.stderr)")
        let (seconds, code) = r.terminate(within: 40)
        #expect(seconds < 5, "the limited restore took \(seconds) s to stop after SIGTERM")
        #expect(code == ErrorCode.interrupted.rawValue, "exit \(code.map(String.init) ?? "none"): \(r.stderr)")
        #expect(
            treeFingerprint(w.path("out")) == before, "the target is not the old tree after the interrupted restore")

        try w.ok(["restore", "latest", "--source", w.path("src"), "--target", w.path("out"), "--force"])
        #expect(try Posix.readFile(w.path("out/big")) == data)
    }

    @Test func sigtermStopsALimitedBackupWithinSecondsAndTheRepositoryStaysClean() throws {
        let w = try Workspace()
        try w.ok(["init"])
        try w.write("src/big", SecureRandom.bytes(Self.size))

        let r = try Running(w, ["backup", w.path("src"), "--limit-upload", Self.rate, "--progress-interval", "1s"])
        #expect(r.waitForOutput("progress: backup", within: 60), "no progress line: \(r.stderr)")
        let (seconds, code) = r.terminate(within: 40)
        #expect(seconds < 5, "the limited backup took \(seconds) s to stop after SIGTERM")
        #expect(code == ErrorCode.interrupted.rawValue, "exit \(code.map(String.init) ?? "none"): \(r.stderr)")
        let verify = try w.run(["verify", "--read-data"])
        #expect(verify.code == 0, "\(verify.stdout)\n\(verify.stderr)")
        // The interrupted backup saved no snapshot; the next one completes.
        try w.ok(["backup", w.path("src")])
    }
}
