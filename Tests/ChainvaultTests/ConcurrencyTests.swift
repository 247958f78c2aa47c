import Foundation
import Glibc
import Testing
import VaultCore

/// Several commands on one repository at once (issue 5): shared locks coexist, the exclusive one
/// (prune) refuses while others run, and nothing anyone wrote is lost.
struct ConcurrencyTests {
    @Test func twoBackupsAndAVerifyAtOnceAllSucceedAndAPruneMeanwhileLosesNothing() throws {
        let w = try Workspace()
        try w.ok(["demo", "--generate", w.path("a"), "--size", "40M"])
        try w.ok(["demo", "--generate", w.path("b"), "--size", "40M"])
        try w.ok(["init"])
        try w.ok(["backup", w.path("a")])  // something for verify to read
        var logs: [String] = []
        func launch(_ args: [String]) throws -> Process {
            let log = w.path("stderr-\(logs.count)")
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            logs.append(log)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Workspace.binary)
            p.arguments = args
            p.environment = w.environment
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle(forWritingAtPath: log)
            try p.run()
            return p
        }

        try w.write("b/extra.dat", SecureRandom.bytes(5_000_000))
        let backupA = try launch(["backup", w.path("a"), "--tag", "again"])
        let backupB = try launch(["backup", w.path("b")])
        let verify = try launch(["verify", "--read-data"])
        // Prune only once each of the three holds its shared lock or has already finished: on a
        // loaded machine a fixed pause let prune take the exclusive lock before a backup took its
        // shared one, and that backup then (rightly) failed as locked. Wait on what the repository
        // shows (its lock files), bounded, never on a guess of how long start-up takes.
        let running = [backupA, backupB, verify]
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            let held = ((try? FileManager.default.contentsOfDirectory(atPath: w.repo + "/locks")) ?? []).filter {
                !$0.hasPrefix(".")
            }.count
            if held + running.filter({ !$0.isRunning }).count >= running.count { break }
            usleep(10_000)
        }
        // Prune needs the exclusive lock: while the others hold shared locks it must refuse (exit
        // 12, naming who holds it); if they have all finished by now it may run, and loses nothing.
        let prune = try w.run(["forget", "--keep-last", "5", "--prune"])
        #expect(
            prune.code == 0 || (prune.code == 12 && prune.stderr.contains("locked")), "\(prune.code) \(prune.stderr)")
        for p in [backupA, backupB, verify] { p.waitUntilExit() }
        #expect(
            [backupA, backupB, verify].allSatisfy { $0.terminationStatus == 0 },
            "exit codes \([backupA, backupB, verify].map(\.terminationStatus)): \(logs.map { String(decoding: FileManager.default.contents(atPath: $0) ?? Data(), as: UTF8.self) })"
        )
        try w.ok(["verify", "--read-data"])
        let list = try w.ok(["snapshots", "--json"]).stdout
        #expect(list.contains(w.path("b")) && list.contains("again"), "both concurrent backups are there: \(list)")
        try w.ok(["forget", "--keep-last", "5", "--prune"])
        try w.ok(["verify", "--read-data"])
    }
}
