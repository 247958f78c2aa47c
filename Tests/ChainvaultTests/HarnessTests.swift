import Foundation
import Testing

/// The harness itself: everything a command writes is collected, however much and on which stream.
struct HarnessTests {
    /// Until session 10 stdout was read to its end before stderr, so a command that wrote more
    /// than a pipe holds (64 KiB) to stderr before closing stdout never ended: the prune progress
    /// test (records every 10 ms) hung that way on a loaded machine.
    @Test func moreThanAPipeHoldsOnStderrIsCollectedWithoutAHang() throws {
        let w = try Workspace()
        let r = try w.run(["-c", "head -c 300000 /dev/zero | tr '\\000' e >&2; echo done"], executable: "/bin/sh")
        #expect(r.code == 0)
        #expect(r.stderr.utf8.count == 300_000)
        #expect(r.stdout == "done\n")
    }
}
