import Foundation
import Glibc
import Testing
import VaultTestSupport
import VaultCore
import VaultDaemon
import VaultEngine
import VaultRepository
import VaultStorage

@Test func hooksReportExitCodesAndOutput() {
    let r = HookRunner.run(["sh", "-c", "echo stopping node; exit 3"], timeout: 10)
    #expect(r.exitCode == 3 && !r.succeeded)
    #expect(r.output == "stopping node\n")
    #expect(HookRunner.run(["true"], timeout: 10).succeeded)
    let missing = HookRunner.run(["/nonexistent/hook"], timeout: 10)
    #expect(!missing.succeeded && missing.output.contains("cannot run"))
}

@Test func aHookThatOverrunsIsKilledWithItsChildren() throws {
    let dir = temporaryDirectory("cv-daemon")
    let t0 = Date()
    let r = HookRunner.run(["sh", "-c", "sleep 30 & echo $! > \(dir)/child; sleep 30"], timeout: 0.5)
    #expect(r.timedOut)
    #expect(Date().timeIntervalSince(t0) < 5)
    let child = Int32(
        String(decoding: FileManager.default.contents(atPath: dir + "/child")!, as: UTF8.self).trimmingCharacters(
            in: .whitespacesAndNewlines))!
    usleep(200_000)
    // Gone, or a zombie waiting for its new parent to reap it (kill(pid, 0) succeeds on zombies).
    let stat = (try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8)) ?? ""
    let state = stat.split(separator: ")").last?.split(separator: " ").first.map(String.init) ?? "gone"
    #expect(state == "gone" || state == "Z", "the hook's background child is killed too (state \(state))")
}

func policy(_ mode: String, source: String, pre: [String]? = nil, post: [String]? = nil) -> Policy {
    try! JSONDecoder().decode(
        Policy.self,
        from: Data(
            """
            {"name":"t","source":"\(source)","consistency":{"mode":"\(mode)"},"schedule":{"every":"1h"},"retention":{"keepLast":1},"rpo":"2h"}
            """.utf8)
    ).with {
        $0.consistency.pre = pre; $0.consistency.post = post
    }
}

extension Policy {
    func with(_ change: (inout Policy) -> Void) -> Policy { var p = self; change(&p); return p }
}

func memoryRepository() throws -> Repository { try newRepository(3).0 }

@Test func thePostHookRunsEvenWhenTheBackupFails() throws {
    let dir = temporaryDirectory("cv-daemon")
    let p = policy("stop", source: dir + "/missing", pre: ["true"], post: ["touch", dir + "/started-again"])
    let error = #expect(throws: VaultError.self) { try ConsistentBackup.run(p, repository: try memoryRepository()) }
    #expect(error?.code == .sourceUnreadable)
    #expect(FileManager.default.fileExists(atPath: dir + "/started-again"))
}

@Test func aFailedPreHookTakesNoBackupButStillStartsTheNode() throws {
    let dir = temporaryDirectory("cv-daemon")
    try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
    let p = policy(
        "stop", source: dir + "/data", pre: ["sh", "-c", "echo cannot stop; exit 1"],
        post: ["touch", dir + "/started-again"])
    let repo = try memoryRepository()
    let error = #expect(throws: VaultError.self) { try ConsistentBackup.run(p, repository: repo) }
    #expect(
        error?.message.contains("pre-hook") == true && error?.causeDescription == "cannot stop\n"
            && error?.cause is CauseText)
    #expect(FileManager.default.fileExists(atPath: dir + "/started-again"))
    #expect(try repo.listSnapshotIDs().isEmpty)
}

@Test func aFailedPostHookIsLoud() throws {
    let dir = temporaryDirectory("cv-daemon")
    try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
    let p = policy("stop", source: dir + "/data", pre: ["true"], post: ["false"])
    let error = #expect(throws: VaultError.self) { try ConsistentBackup.run(p, repository: try memoryRepository()) }
    #expect(error?.message.contains("THE NODE MAY STILL BE STOPPED") == true)
}

@Test func twoPhaseCopiesMostDataLiveAndOnlyChangesWhileStopped() throws {
    let dir = temporaryDirectory("cv-daemon")
    try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: dir + "/data/big.ldb", contents: Data(SecureRandom.bytes(4_000_000)))
    // Stopping the node flushes its last state: the pre-hook writes a file, and sleeps a little.
    let p = policy(
        "two-phase", source: dir + "/data", pre: ["sh", "-c", "sleep 0.2; echo flushed > \(dir)/data/CURRENT"],
        post: ["true"])
    let repo = try memoryRepository()
    let r = try ConsistentBackup.run(p, repository: repo)
    #expect(r.livePassSeconds != nil)
    #expect((r.downtimeSeconds ?? 0) >= 0.2)
    #expect(r.backup.snapshot.stats.bytesRead == 8, "the stopped pass read only the file written at stop time")
    #expect(r.backup.snapshot.stats.filesUnchanged == 1)
    #expect(try repo.listSnapshotIDs() == [r.backup.snapshotID], "the live pass's snapshot is removed")
    let restored = try Restorer(repository: repo, options: RestoreOptions(snapshot: "latest", target: dir + "/out"))
        .run()
    #expect(restored.files == 2)
    #expect(FileManager.default.contents(atPath: dir + "/out/CURRENT") == Data("flushed\n".utf8))
}
