import Foundation
import Glibc
import S3TestSupport
import Testing

/// The readiness probe on S3 (issue 15): healthy probes reuse one connection instead of a new
/// one (a TLS handshake on a real store) every period, and a store that dies is still reported
/// not ready by the first probe after its death. Connections are counted at a proxy in front of
/// moto; probes are counted by the daemon's own probe timestamp, never by elapsed time. The old
/// probe opened a fresh backend, so a connection, per look.
extension DaemonTests {
    func probeTime(_ port: UInt16) -> Double? {
        metricValue(get(port, "/metrics").1, "chainvault_readiness_probe_last_timestamp_seconds")
    }

    /// Waits for `count` probes that started after this call; false after `seconds`.
    func waitForProbes(_ port: UInt16, _ count: Int, within seconds: Double) -> Bool {
        var seen = Set<Double>()
        let after = probeTime(port) ?? 0
        return waitFor(seconds) {
            if let t = probeTime(port), t > after { seen.insert(t) }
            return seen.count >= count
        }
    }

    @Test func healthyProbesReuseAConnectionAndADeadStoreFailsTheNextProbe() throws {
        let store = try s3Server(.moto)
        let proxy = try FaultProxy(upstreamPort: try MotoS3.shared().port, seed: 1, rate: 0)
        defer { proxy.stop() }
        let w = try Workspace()
        for (k, v) in store.environment { w.environment[k] = v }
        w.environment["CHAINVAULT_S3_RETRIES"] = "1"
        let repo = try store.newRepository("probe", endpoint: proxy.endpoint)
        w.environment["CHAINVAULT_REPOSITORY"] = repo
        try w.ok(["init"])
        try FileManager.default.createDirectory(atPath: w.path("node"), withIntermediateDirectories: true)
        try w.write("policies/demo.json", Array(livePolicy(w).utf8))
        let port = TestPorts.take()
        try w.write("token", Array("token-\(UUID().uuidString)".utf8), mode: 0o600)
        try writeDaemonConfig(
            w, port: port, repository: repo, extra: "\"readinessProbeEvery\":\"1s\",\"readinessProbeTimeout\":\"5s\"")
        let p = try startLoggingDaemon(w)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }
        #expect(waitFor(60) { counter(port, "jobsFinished") >= 1 }, "the first backup ran: \(statusJSON(port))")
        #expect(waitFor(30) { get(port, "/readyz").0 == 200 }, "ready: \(get(port, "/readyz?verbose").1)")

        #expect(waitForProbes(port, 1, within: 30))
        let before = proxy.counts()["connections"] ?? 0
        #expect(waitForProbes(port, 4, within: 60), "four more probes")
        let after = proxy.counts()["connections"] ?? 0
        #expect(after - before <= 1, "four healthy probes opened \(after - before) connections")
        #expect(get(port, "/readyz").0 == 200)

        // The store dies: the first probe that starts afterwards fails it (the first probe to end
        // may have started before).
        proxy.setDown(true)
        #expect(waitForProbes(port, 2, within: 30))
        let (status, why) = get(port, "/readyz")
        #expect(status == 503, "not ready after one probe of a dead store: \(why)")
        proxy.setDown(false)
        #expect(waitFor(30) { get(port, "/readyz").0 == 200 }, "ready again: \(get(port, "/readyz?verbose").1)")
        kill(p.processIdentifier, SIGTERM)
        #expect(waitFor(20) { !p.isRunning })
    }
}
