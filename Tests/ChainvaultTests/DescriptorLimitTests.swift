import Foundation
import Glibc
import Testing

/// A local user who opens more idle connections than the daemon has descriptors (issue 14):
/// the daemon raises its soft limit to the hard one, keeps its connection cap below it, and backs
/// off when `accept` fails, so probes answer, backups run, and it does not spin.
extension DaemonTests {
    /// CPU seconds (user + system) the process has used, from /proc/PID/stat fields 14 and 15.
    func cpuSeconds(_ pid: pid_t) -> Double {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
        guard let close = text.lastIndex(of: ")") else { return -1 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return -1 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The soft and hard "Max open files" of a process, from /proc/PID/limits.
    func openFileLimits(_ pid: pid_t) -> [Int] {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("Max open files") } ?? ""
        return line.split(separator: " ").compactMap { Int($0) }
    }

    /// Connects without waiting: a connection the listen backlog cannot take yet must not block
    /// the test (it completes, or not, while the daemon accepts).
    func connectNonBlocking(_ port: UInt16) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET); a.sin_port = port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr)
        _ = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return fd
    }

    @Test(.enabled(if: tool("prlimit") != nil, "prlimit (util-linux) is not installed"))
    func idleConnectionsBeyondTheDescriptorLimitCostNeitherProbesNorBackups() throws {
        let w = try Workspace()
        let (port, token, _) = try prepareDaemon(
            w, nodeSize: "4M",
            policy: """
                {"name":"demo","source":"\(w.path("node"))","consistency":{"mode":"live"},"schedule":{"every":"1h"},"retention":{"keepLast":3},"rpo":"2h"}
                """)
        // systemd's default is soft 1,024 below a high hard limit; the same shape, smaller.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool("prlimit")!)
        p.arguments = ["--nofile=128:384", Workspace.binary, "daemon", "--config", w.path("config.json")]
        p.environment = w.environment
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        let pid = p.processIdentifier
        #expect(waitFor(10) { get(port, "/livez").0 == 200 })
        #expect(waitFor(30) { idle(port) })
        #expect(openFileLimits(pid) == [384, 384], "the soft limit was raised to the hard one")

        // More idle connections than the daemon has descriptors, held for a measured 2 s.
        let clients = 500
        let held = (0..<clients).map { _ in connectNonBlocking(port) }
        defer { held.forEach { close($0) } }
        let cpuBefore = cpuSeconds(pid)
        usleep(2_000_000)
        let cpuUsed = cpuSeconds(pid) - cpuBefore
        // A loop spinning on a readable listening socket used all of one core: ~2 s.
        #expect(cpuUsed < 0.5, "the daemon used \(cpuUsed) CPU seconds in 2 s with \(clients) idle clients")
        #expect(openDescriptors(pid) < 384 - 128, "\(openDescriptors(pid)) descriptors open: no reserve left for jobs")

        let probe = get(port, "/livez")
        #expect(probe.0 == 200, "/livez with \(clients) idle clients: \(probe)")
        let job = runAPIJob(port, token: token, "/v1/policies/demo/backup")
        #expect(job["state"] as? String == "succeeded", "a backup with \(clients) idle clients: \(job)")
    }
}

extension DaemonTests {
    /// With so few descriptors that `accept` itself fails (EMFILE), the daemon frees an idle
    /// client's descriptor for the new one, or pauses: it neither spins nor stops answering.
    @Test(.enabled(if: tool("prlimit") != nil, "prlimit (util-linux) is not installed"))
    func acceptFailingForWantOfDescriptorsNeitherSpinsNorStopsProbes() throws {
        let w = try Workspace()
        let (port, _, _) = try prepareDaemon(
            w, nodeSize: "1M",
            policy: """
                {"name":"demo","source":"\(w.path("node"))","consistency":{"mode":"live"},"schedule":{"every":"1h"},"retention":{"keepLast":3},"rpo":"2h"}
                """)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool("prlimit")!)
        // Fewer descriptors than the daemon's own plus its minimum connection cap (16).
        p.arguments = ["--nofile=32:32", Workspace.binary, "daemon", "--config", w.path("config.json")]
        p.environment = w.environment
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        let pid = p.processIdentifier
        #expect(waitFor(10) { get(port, "/livez").0 == 200 })
        #expect(waitFor(30) { idle(port) })
        let held = (0..<100).map { _ in connectNonBlocking(port) }
        defer { held.forEach { close($0) } }
        let cpuBefore = cpuSeconds(pid)
        usleep(2_000_000)
        let cpuUsed = cpuSeconds(pid) - cpuBefore
        #expect(cpuUsed < 0.5, "the daemon used \(cpuUsed) CPU seconds in 2 s")
        #expect(get(port, "/livez").0 == 200)
    }
}
