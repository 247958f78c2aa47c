import Foundation
import Glibc

/// Runs a policy's pre/post command (an argument vector, no shell) in its own process group, with
/// a deadline: on timeout the whole group gets SIGTERM, then SIGKILL 5 s later, so a hook that
/// started children cannot outlive its policy. The last 4 KiB of its output are kept for the log.
public enum HookRunner {
    public struct Result: Sendable {
        public var exitCode: Int32?
        public var signal: Int32?
        public var timedOut: Bool
        public var seconds: Double
        public var output: String
        /// The same tail as bytes, exactly as the hook wrote them (logged as escaped events).
        public var outputBytes: [UInt8] = []
        public var succeeded: Bool { exitCode == 0 && !timedOut }

        public var summary: String {
            if timedOut { return "timed out after \(Int(seconds)) s" }
            if let s = signal { return "killed by signal \(s)" }
            return "exited \(exitCode ?? -1)"
        }
    }

    static let outputTail = 4096

    public static func run(
        _ argv: [String], timeout: TimeInterval, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> Result {
        let start = Date()
        guard !argv.isEmpty else {
            return Result(exitCode: 127, signal: nil, timedOut: false, seconds: 0, output: "empty command")
        }
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else {
            return Result(exitCode: 127, signal: nil, timedOut: false, seconds: 0, output: "pipe failed")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 2)
        posix_spawn_file_actions_addclose(&actions, pipeFDs[0])
        posix_spawn_file_actions_addclose(&actions, pipeFDs[1])
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var empty = sigset_t(), all = sigset_t()
        sigemptyset(&empty); sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)

        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { cArgs.forEach { free($0) }; cEnv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, argv[0], &actions, &attributes, cArgs, cEnv)
        close(pipeFDs[1])
        guard spawned == 0 else {
            close(pipeFDs[0])
            return Result(
                exitCode: 127, signal: nil, timedOut: false, seconds: Date().timeIntervalSince(start),
                output: "cannot run \(argv[0]): \(String(cString: strerror(spawned)))")
        }

        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var timedOut = false
        var killedAt: Date?
        var status: Int32 = 0
        var exited = false
        var pipeOpen = true
        while !exited {
            if pipeOpen {
                var p = pollfd(fd: pipeFDs[0], events: Int16(POLLIN), revents: 0)
                if poll(&p, 1, 100) > 0 {
                    let n = read(pipeFDs[0], &buffer, buffer.count)
                    if n > 0 {
                        output += buffer[0..<n]
                        if output.count > outputTail * 2 { output.removeFirst(output.count - outputTail) }
                    } else if n == 0 {
                        pipeOpen = false
                    }
                }
            } else {
                usleep(20_000)
            }
            if waitpid(pid, &status, WNOHANG) == pid { exited = true; break }
            let elapsed = Date().timeIntervalSince(start)
            if !timedOut && elapsed > timeout {
                timedOut = true
                killedAt = Date()
                kill(-pid, SIGTERM)
            } else if let k = killedAt, Date().timeIntervalSince(k) > 5 {
                kill(-pid, SIGKILL)
                killedAt = .distantFuture
            }
        }
        // The leader exited; make sure nothing it started in its group lingers after a timeout.
        if timedOut { kill(-pid, SIGKILL) }
        close(pipeFDs[0])
        let exitCode: Int32? = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : nil
        let signal: Int32? = (status & 0x7F) != 0 ? status & 0x7F : nil
        let tail = Array(output.suffix(outputTail))
        return Result(
            exitCode: exitCode, signal: signal, timedOut: timedOut, seconds: Date().timeIntervalSince(start),
            output: String(decoding: tail, as: UTF8.self), outputBytes: tail)
    }
}

extension HookRunner.Result {
    /// Each line the hook printed as its own `event=hook_output` record, its bytes escaped (never
    /// a continuation line in the journal, whatever it printed).
    public func logOutput(_ logger: DaemonLogger?, policy: String, hook: String) {
        guard let logger else { return }
        for line in outputBytes.split(separator: 0x0A) where !line.isEmpty {
            logger.log(
                succeeded ? 6 : 4, "hook_output",
                bytes: [("policy", Array(policy.utf8)), ("hook", Array(hook.utf8)), ("line", Array(line))])
        }
    }
}
