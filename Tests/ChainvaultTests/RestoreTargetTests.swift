import Foundation
import Glibc
import Testing

/// Issue 14, "Hostile local user": the restore API accepted any absolute target, and with target =
/// the repository and mode force it moved the repository aside. Now only the policy's source or a
/// directory under `restoreRoots` is accepted, compared after resolving symlinks.
extension DaemonTests {
    @Test func apiRestoresIntoTheRepositoryStateOrSystemDirectoriesAreRefused() throws {
        let w = try Workspace()
        let (p, port, token) = try startDaemon(w)
        defer { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        #expect(waitFor(30) { idle(port) }, "the first scheduled backup finishes")
        let before = treeFingerprint(w.repo + "/snapshots")
        #expect(symlink(w.repo, w.path("sneaky")) == 0)  // under the restore root, pointing at the repository
        #expect(symlink("/etc", w.path("etc-link")) == 0)
        let started = statusJSON(port)["jobsStarted"] as? Int
        for target in [
            w.repo, w.repo + "/data", w.path("state"), w.root, w.path("sneaky"), w.path("sneaky/new"),
            w.path("etc-link/cron.d"), "/etc", "/", "/usr/local/lib", "/var/lib"
        ] {
            let (code, body) = post(
                port, "/v1/restores", token: token,
                body: "{\"policy\":\"demo\",\"target\":\"\(target)\",\"mode\":\"force\"}")
            #expect(code == 403, "\(target): \(code) \(body)")
        }
        #expect(statusJSON(port)["jobsStarted"] as? Int == started, "no restore job was queued")
        #expect(treeFingerprint(w.repo + "/snapshots") == before)
        #expect(FileManager.default.fileExists(atPath: w.repo + "/config"))
        // The policy's own source and a new directory under the restore root are still allowed.
        #expect(
            runJob(
                port, token: token, "/v1/restores",
                body: "{\"policy\":\"demo\",\"target\":\"\(w.path("node"))\",\"mode\":\"delta\"}"))
        #expect(
            runJob(port, token: token, "/v1/restores", body: "{\"policy\":\"demo\",\"target\":\"\(w.path("out"))\"}"))
        #expect(try treeDifferences(w.path("node"), w.path("out")) == [])
    }
}
