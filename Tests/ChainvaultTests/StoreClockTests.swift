import Foundation
import Testing
import S3TestSupport
import VaultCore

/// A snapshot dated ahead of the store's clock (S3's `Date` header, a local repository's file
/// times), whatever the clock of the host that lists it says. `faketime` shifts this process's
/// clock only; the store's clock stays the machine's.
struct StoreClockTests {
    static let faketime = "/usr/bin/faketime"

    func workspace(_ store: String) throws -> Workspace {
        let w = try Workspace()
        if store == "moto" {
            let moto = try MotoS3.shared()
            for (k, v) in moto.environment { w.environment[k] = v }
            w.environment["CHAINVAULT_REPOSITORY"] = moto.newRepository("clock")
        }
        return w
    }

    /// `command` run with this host's clock shifted by `shift` (e.g. "+10m").
    func shifted(_ w: Workspace, _ shift: String, _ command: [String]) throws -> Workspace.Run {
        // NO_FAKE_STAT: the file times the kernel reports stay the store's (libfaketime would shift them too).
        try w.run(
            ["-f", shift, Workspace.binary] + command, env: ["FAKETIME_DONT_FAKE_MONOTONIC": "1", "NO_FAKE_STAT": "1"],
            executable: Self.faketime)
    }

    func warned(_ r: Workspace.Run) -> [Substring] {
        r.stderr.split(separator: "\n").filter { $0.contains("ahead of the store's clock") }
    }

    @Test(arguments: ["local", "moto"])
    func aSnapshotAheadOfTheStoresClockIsReportedWhateverThisHostsClockSays(_ store: String) throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.faketime), "apt-get install faketime (.ci/setup does)")
        let w = try workspace(store)
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        let correct = try w.ok(["backup", src, "--host", "correct", "--json"]).json["snapshot"] as? String ?? "?"
        try w.write("src/blocks/blk00000.dat", Array(repeating: 7, count: 100_000))
        let fastBackup = try shifted(w, "+10m", ["backup", src, "--host", "fast", "--json"])
        #expect(fastBackup.code == 0, "\(fastBackup.stderr)")
        let fast = fastBackup.json["snapshot"] as? String ?? "?"

        // A reader whose clock runs as fast as the snapshot's (the old check saw nothing), and
        // one whose clock is slow (the old check also named the correct snapshot).
        for shift in ["+10m", "-10m", "+0"] {
            for command in [["snapshots"], ["verify"]] {
                let r = try shifted(w, shift, command)
                #expect(r.code == 0, "\(shift) \(command): exit \(r.code)\n\(r.stderr)")
                let lines = warned(r)
                #expect(
                    lines.count == 1 && lines[0].contains(fast.prefix(8)) && lines[0].contains("fast"),
                    "\(shift) \(command): \(r.stderr)")
                #expect(!r.stderr.contains(correct.prefix(8)), "\(shift) \(command): \(r.stderr)")
            }
        }
    }
}
