import Foundation
import Glibc
import Testing

/// `chainvault health` against a daemon whose /v1/status needs the monitor role (issue 14): the
/// token comes from a file (never the command line or an environment variable's value), and a
/// refusal is UNKNOWN with what to do.
extension HealthCommandTests {
    static let token = "monitor-" + String(repeating: "5a", count: 20)

    /// A workspace with the token in `monitor.token` (mode 0600) and a stand-in daemon that wants it.
    func tokenSetUp() throws -> (Workspace, StatusServer, String) {
        let w = try Workspace()
        try w.write("monitor.token", Array((Self.token + "\n").utf8), mode: 0o600)
        return (w, try StatusServer(body: Self.status, token: Self.token), "http://127.0.0.1:")
    }

    @Test func withoutATokenHealthSaysTheDaemonNeedsAMonitorToken() throws {
        let (w, server, url) = try tokenSetUp()
        let r = try w.run(["health", "--url", url + "\(server.port)", "--policy", "demo"])
        #expect(r.code == 3, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.hasPrefix("CHAINVAULT UNKNOWN: the daemon needs a monitor token: "), "\(r.stdout)")
        #expect(r.stdout.contains("--token-file") && r.stdout.contains("CHAINVAULT_TOKEN_FILE"), "\(r.stdout)")
    }

    @Test func theTokenComesFromAFileTheEnvironmentOrTheUnitsCredentials() throws {
        let (w, server, url) = try tokenSetUp()
        let args = ["health", "--url", url + "\(server.port)", "--policy", "demo"]
        let expected = "CHAINVAULT OK: 1 policies backed up within their RPO | age_demo=45s;3600;7200;0\n"
        let byOption = try w.run(args + ["--token-file", w.path("monitor.token")])
        #expect(byOption.code == 0 && byOption.stdout == expected, "\(byOption.stdout) \(byOption.stderr)")
        let byEnvironment = try w.run(args, env: ["CHAINVAULT_TOKEN_FILE": w.path("monitor.token")])
        #expect(byEnvironment.code == 0 && byEnvironment.stdout == expected, "\(byEnvironment.stdout)")
        // Run from a unit with LoadCredential=monitor.token:FILE.
        try w.write("credentials/monitor.token", Array(Self.token.utf8), mode: 0o400)
        let byCredential = try w.run(args, env: ["CREDENTIALS_DIRECTORY": w.path("credentials")])
        #expect(byCredential.code == 0 && byCredential.stdout == expected, "\(byCredential.stdout)")
        // The token itself is never an argument.
        let onTheCommandLine = try w.run(args + ["--token", Self.token])
        #expect(onTheCommandLine.code != 0 && onTheCommandLine.code != 3, "\(onTheCommandLine.stdout)")
    }

    @Test func aRefusedOrUnsafeTokenFileIsUnknownWithWhatToDo() throws {
        let (w, server, url) = try tokenSetUp()
        let args = ["health", "--url", url + "\(server.port)"]
        try w.write("wrong.token", Array(("other-" + Self.token).utf8), mode: 0o600)
        let wrong = try w.run(args + ["--token-file", w.path("wrong.token")])
        #expect(wrong.code == 3, "\(wrong.stdout)")
        #expect(
            wrong.stdout.hasPrefix(
                "CHAINVAULT UNKNOWN: the daemon refused the token in \(w.path("wrong.token")) (401)"),
            "\(wrong.stdout)")
        // A token every local user can read is no secret: refused before anything is sent.
        try w.write("open.token", Array(Self.token.utf8), mode: 0o644)
        let open = try w.run(args + ["--token-file", w.path("open.token")])
        #expect(open.code == 3, "\(open.stdout)")
        #expect(
            open.stdout.hasPrefix(
                "CHAINVAULT UNKNOWN: token file \(w.path("open.token")) is readable or writable by every local user"),
            "\(open.stdout)")
        let missing = try w.run(args + ["--token-file", w.path("nosuch.token")])
        #expect(
            missing.code == 3 && missing.stdout.contains("token file \(w.path("nosuch.token")) does not exist"),
            "\(missing.stdout)")
        let named = try w.run(args, env: ["CHAINVAULT_TOKEN_FILE": w.path("nosuch.token")])
        #expect(named.code == 3 && named.stdout.contains("(named by CHAINVAULT_TOKEN_FILE)"), "\(named.stdout)")
    }
}
