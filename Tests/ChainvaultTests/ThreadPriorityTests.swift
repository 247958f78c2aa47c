import Foundation
import Glibc
import Testing

/// Issue 12: under the shipped unit the daemon may not raise its own priority (no CAP_SYS_NICE, a
/// RLIMIT_NICE of 0 where PID 1 cannot raise it), and every libdispatch thread that asks for one
/// logs "Failed to set thread priority for worker thread" to the journal. libdispatch asks for nice
/// -4 for the user-interactive thread it starts for signal and timer sources and for
/// `concurrentPerform`; chainvault uses none of them, so no thread of the CLI or the daemon asks
/// for more than the process has. Traced with strace: `setpriority` calls and their values.
struct ThreadPriorityTests {
    static func raisedPriorities(in trace: String) throws -> [String] {
        let text = try String(contentsOfFile: trace, encoding: .utf8)
        return text.split(separator: "\n").filter { line in
            guard let open = line.range(of: "setpriority(") else { return false }
            let args = line[open.upperBound...].prefix { $0 != ")" }.split(separator: ",")
            guard args.count == 3, let nice = Int(args[2].trimmingCharacters(in: .whitespaces)) else { return false }
            return nice < 0
        }.map(String.init)
    }

    @Test(
        .enabled(
            if: PowerLossTests.strace != nil, "strace is not installed (.ci/setup installs it) or may not trace here"))
    func noThreadOfTheCLIOrTheDaemonAsksForAHigherPriority() throws {
        let w = try Workspace()
        let d = DaemonTests()
        let (port, _, _) = try d.prepareDaemon(
            w, nodeSize: "4M",
            policy: """
                {"name":"demo","source":"\(w.path("node"))","consistency":{"mode":"live"},"schedule":{"every":"1h"},
                 "retention":{"keepLast":3},"rpo":"2h"}
                """)
        let strace = PowerLossTests.strace!
        let traced = { (name: String) in
            ["-f", "-qq", "-e", "trace=setpriority", "-o", w.path("trace-" + name), Workspace.binary]
        }
        // Three backups leave three index files, which the verify loads in parallel; it then reads
        // every pack on its workers.
        for i in 0..<3 {
            try w.write("node/extra-\(i)", Array(repeating: UInt8(i), count: 100_000))
            let r = try w.run(traced("backup-\(i)") + ["backup", w.path("node")], executable: strace)
            #expect(r.code == 0, "\(r.stderr)")
        }
        let v = try w.run(traced("verify") + ["verify", "--read-data"], executable: strace)
        #expect(v.code == 0, "\(v.stderr)")

        let p = Process()
        p.executableURL = URL(fileURLWithPath: strace)
        p.arguments = traced("daemon") + ["daemon", "--config", w.path("config.json")]
        p.environment = w.environment
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        #expect(d.waitFor(30) { d.get(port, "/livez").0 == 200 })
        // Its first scheduled backup runs at once.
        #expect(
            d.waitFor(60) {
                d.get(port, "/metrics").1.contains(
                    "chainvault_backup_runs_total{policy=\"demo\",result=\"succeeded\"} 1")
            })
        // The daemon is strace's child: find it, reload it, stop it; strace exits with it.
        let daemonPID = try #require(childPID(of: p.processIdentifier))
        kill(daemonPID, SIGHUP)
        kill(daemonPID, SIGTERM)
        #expect(d.waitFor(30) { !p.isRunning }, "the daemon stops on SIGTERM")

        var raised: [String] = []
        for name in ["backup-0", "backup-1", "backup-2", "verify", "daemon"] {
            raised += try Self.raisedPriorities(in: w.path("trace-" + name)).map { "\(name): \($0)" }
        }
        #expect(raised.isEmpty, "threads asked for a higher priority:\n\(raised.prefix(10).joined(separator: "\n"))")
    }

    /// The first child of `parent` in /proc (strace runs exactly one).
    func childPID(of parent: Int32) -> Int32? {
        let tasks = (try? String(contentsOfFile: "/proc/\(parent)/task/\(parent)/children", encoding: .utf8)) ?? ""
        return tasks.split(separator: " ").first.flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
}
