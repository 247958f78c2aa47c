import Foundation
import Glibc

/// One `chainvault` command run as a scheduler runs it: started again whenever it exits 12 (the
/// repository is locked by another host), up to a bounded number of attempts; any other exit
/// ends it. The next attempt starts from the previous one's termination handler, so nothing
/// polls or sleeps: `wait` blocks on the last process's exit. Each attempt's output goes to files
/// in the workspace (no pipe can fill up while nobody reads it).
///
/// @unchecked: the counters and times are read and written only under `state`; the rest is set in
/// `init` (`workspace` is only read: its paths and environment).
final class ScheduledRun: @unchecked Sendable {
    let name: String
    private let workspace: Workspace
    private let arguments: (Int) -> [String]
    private let environment: [String: String]
    private let maxAttempts: Int
    private let finished = DispatchSemaphore(value: 0)
    private let state = NSLock()
    private var attemptCount = 0
    private var exitCode: Int32 = -1
    private var startTime = Date()
    private var endTime = Date()

    /// `arguments(n)`: the command line of attempt n (1, 2, …), e.g. a fresh restore target each time.
    init(
        _ name: String, in workspace: Workspace, env extra: [String: String] = [:], maxAttempts: Int = 200,
        _ arguments: @escaping (Int) -> [String]
    ) {
        self.name = name; self.workspace = workspace; self.arguments = arguments; self.maxAttempts = maxAttempts
        environment = workspace.environment.merging(extra) { $1 }
    }

    func start() {
        state.withLock { startTime = Date() }
        launch()
    }

    private func launch() {
        let n = state.withLock {
            attemptCount += 1; return attemptCount
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Workspace.binary)
        p.arguments = arguments(n)
        p.environment = environment
        let out = workspace.path("\(name).out"), err = workspace.path("\(name).err")
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: out)
        p.standardError = FileHandle(forWritingAtPath: err)
        p.terminationHandler = { [self] p in
            if p.terminationStatus == 12 && n < maxAttempts { launch() } else { finish(p.terminationStatus) }
        }
        do { try p.run() } catch { finish(-2) }
    }

    private func finish(_ code: Int32) {
        state.withLock {
            exitCode = code; endTime = Date()
        }
        finished.signal()
    }

    /// Waits for the last attempt's exit (false when `seconds` passed first).
    func wait(seconds: Double) -> Bool { finished.wait(timeout: .now() + seconds) == .success }

    var code: Int32 { state.withLock { exitCode } }
    var attempts: Int { state.withLock { attemptCount } }
    /// From the first start to the last exit.
    var seconds: Double { state.withLock { endTime.timeIntervalSince(startTime) } }
    /// The last attempt's output.
    var stdout: String { (try? String(contentsOfFile: workspace.path("\(name).out"), encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: workspace.path("\(name).err"), encoding: .utf8)) ?? "" }
}
