import Foundation
import Glibc
import Testing
import VaultTestSupport
import VaultCore
import VaultRepository
@_spi(Repository) import VaultStorage

// The staleness rules of FORMAT.md "Locks", one row per rule, judged with injected evidence.

private let me = ProcessIdentity(
    hostname: "node-a", bootID: "boot-1", pidNamespace: 4026531836, pid: 100, startTime: 5000)

private func holder(
    pid: Int32 = 4242, host: String = "node-a", boot: String? = "boot-1", ns: UInt64? = 4026531836,
    start: UInt64? = 777
) -> ProcessIdentity {
    ProcessIdentity(hostname: host, bootID: boot, pidNamespace: ns, pid: pid, startTime: start)
}

struct StalenessCase: CustomTestStringConvertible, Sendable {
    let name: String
    let holder: ProcessIdentity
    let kernelLocked: Bool
    let observed: LockStaleness.Observation
    let running: [Int32: UInt64]  // pid -> start time, as the checker's /proc shows them
    let procIsOwn: Bool
    let stale: Bool
    var testDescription: String { name }
}

private let hour: TimeInterval = 3600
private let cases: [StalenessCase] = [
    .init(
        name: "kernel lock held: live whatever its age", holder: holder(host: "other", boot: "boot-9"),
        kernelLocked: true,
        observed: .init(kernelHeld: true, storeAge: 10 * hour, localAge: 10 * hour), running: [:], procIsOwn: true,
        stale: false),
    .init(
        name: "kernel lock free, same kernel: stale at once", holder: holder(ns: 99), kernelLocked: true,
        observed: .init(kernelHeld: false, storeAge: 1, localAge: 1), running: [:], procIsOwn: true, stale: true),
    .init(
        name: "kernel lock free on another kernel proves nothing: young is live", holder: holder(boot: "boot-2"),
        kernelLocked: true, observed: .init(kernelHeld: false, storeAge: 60, localAge: 60), running: [:],
        procIsOwn: true,
        stale: false),
    .init(
        name: "kernel lock free but the holder never took one: not evidence", holder: holder(ns: 99),
        kernelLocked: false,
        observed: .init(kernelHeld: false, storeAge: 60, localAge: 60), running: [:], procIsOwn: true, stale: false),
    .init(
        name: "same host, boot and pidns, process runs: live though hours old on both clocks", holder: holder(),
        kernelLocked: false, observed: .init(storeAge: 10 * hour, localAge: 10 * hour), running: [4242: 777],
        procIsOwn: true, stale: false),
    .init(
        name: "same host, boot and pidns, process gone: stale", holder: holder(), kernelLocked: false,
        observed: .init(storeAge: 60, localAge: 60), running: [:], procIsOwn: true, stale: true),
    .init(
        name: "same host, boot and pidns, pid reused by a later process: stale", holder: holder(), kernelLocked: false,
        observed: .init(storeAge: 60, localAge: 60), running: [4242: 778], procIsOwn: true, stale: true),
    .init(
        name: "another PID namespace: its pid is not looked up, young by the store's clock is live",
        holder: holder(ns: 7),
        kernelLocked: false, observed: .init(storeAge: 60, localAge: 2 * hour), running: [:], procIsOwn: true,
        stale: false),
    .init(
        name: "another boot of the same host name: the pid means nothing, age decides", holder: holder(boot: "boot-0"),
        kernelLocked: false, observed: .init(storeAge: 60), running: [:], procIsOwn: true, stale: false),
    .init(
        name: "our /proc is not our namespace's: the pid is not looked up", holder: holder(), kernelLocked: false,
        observed: .init(storeAge: 60), running: [:], procIsOwn: false, stale: false),
    .init(
        name: "store clock: 40 minutes unrefreshed is within the tolerance", holder: holder(host: "other"),
        kernelLocked: false, observed: .init(storeAge: 40 * 60, localAge: 3 * hour), running: [:], procIsOwn: true,
        stale: false),
    .init(
        name: "store clock: 50 minutes unrefreshed is stale, whatever this host's clock says",
        holder: holder(host: "other"),
        kernelLocked: false, observed: .init(storeAge: 50 * 60, localAge: 0), running: [:], procIsOwn: true, stale: true
    ),
    .init(
        name: "no store clock: this host's clock against the lock's refresh time, 30 minutes",
        holder: holder(host: "other"),
        kernelLocked: false, observed: .init(localAge: 31 * 60), running: [:], procIsOwn: true, stale: true),
    .init(
        name: "a lock of an older version (no identity), young: live", holder: holder(boot: nil, ns: nil, start: nil),
        kernelLocked: false, observed: .init(storeAge: 60, localAge: 60), running: [:], procIsOwn: true, stale: false)
]

@Test(arguments: cases)
func lockStalenessFollowsTheStrongestEvidence(_ c: StalenessCase) {
    let verdict = LockStaleness.judge(
        holder: c.holder, kernelLocked: c.kernelLocked, observed: c.observed, checker: me,
        startTime: { c.running[$0] }, procIsOwn: c.procIsOwn)
    #expect(verdict.isStale == c.stale, "\(c.name): \(verdict)")
}

@Test func theCurrentProcessKnowsItsBootNamespaceAndStartTime() throws {
    let id = ProcessIdentity.current
    #expect(id.bootID?.count == 36, "a boot id is a UUID")
    #expect(id.pidNamespace != nil)
    let start = try #require(id.startTime)
    #expect(start > 0)
}

private func lockDocument(pid: Int32, refreshed: Date, exclusive: Bool = true) -> [UInt8] {
    let id = ProcessIdentity.current
    let stamp = Timestamp.format(refreshed)
    return Array(
        """
        {"exclusive":\(exclusive),"hostname":"\(id.hostname)","pid":\(pid),"username":"x","command":"prune","time":"\(stamp)",\
        "refreshed":"\(stamp)","bootID":"\(id.bootID!)","pidNamespace":\(id.pidNamespace!),"startTime":\(id.startTime!)}
        """.utf8)
}

@Test func aLockOfARunningProcessIsNotStaleWhenItsRefreshTimeLooksHoursOld() throws {
    // This process, refreshed "two hours ago" by a clock that was behind: it runs, so it is live.
    let backend = MemoryBackend()
    try backend.write(ObjectHandle(.lock, "running"), lockDocument(pid: getpid(), refreshed: Date() - 2 * 3600))
    backend.advanceClock(by: 3 * 3600)
    let error = #expect(throws: VaultError.self) {
        try RepositoryLock.acquire(backend, exclusive: false, command: "backup")
    }
    #expect(error?.code == .locked)
    #expect(try backend.list(.lock).count == 1, "the live lock was not removed")
}

@Test func aLockOfAProcessThatStartedLaterUnderTheSamePidIsStale() throws {
    // Same pid as this process but another start time: the pid was reused, the holder is gone.
    let backend = MemoryBackend()
    var doc = String(decoding: lockDocument(pid: getpid(), refreshed: Date()), as: UTF8.self)
    doc = doc.replacingOccurrences(of: "\"startTime\":\(ProcessIdentity.current.startTime!)", with: "\"startTime\":1")
    try backend.write(ObjectHandle(.lock, "reused"), Array(doc.utf8))
    let lock = try RepositoryLock.acquire(backend, exclusive: true, command: "prune")
    #expect(lock.removedStale.count == 1 && lock.removedStale[0].contains("gone"), "\(lock.removedStale)")
    lock.release()
}

@Test func ageIsMeasuredOnTheStoresClock() throws {
    // A lock from another host: its refresh time is "now" on that host's clock, but the store
    // stamped it 50 minutes ago by its own clock, which is what counts.
    let backend = MemoryBackend()
    let doc = """
        {"exclusive":true,"hostname":"elsewhere","pid":12,"username":"x","command":"prune","time":"\(Timestamp.now())",\
        "refreshed":"\(Timestamp.now())"}
        """
    try backend.write(ObjectHandle(.lock, "remote"), Array(doc.utf8))
    backend.advanceClock(by: 40 * 60)
    #expect(throws: VaultError.self) { try RepositoryLock.acquire(backend, exclusive: false, command: "backup") }
    backend.advanceClock(by: 10 * 60)
    let lock = try RepositoryLock.acquire(backend, exclusive: false, command: "backup")
    #expect(lock.removedStale.count == 1)
    lock.release()
}

@Test func aLocalLockIsHeldByTheKernelUntilReleased() throws {
    let dir = NSTemporaryDirectory() + "cv-flock-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let backend = LocalBackend(path: dir)
    try backend.create()
    let lock = try RepositoryLock.acquire(backend, exclusive: false, command: "backup")
    let name = try #require(try backend.list(.lock).first?.name)
    #expect(backend.isHeld(ObjectHandle(.lock, name)) == true)
    lock.refresh()
    let renamed = try #require(try backend.list(.lock).first?.name)
    #expect(try backend.list(.lock).count == 1)
    #expect(backend.isHeld(ObjectHandle(.lock, renamed)) == true, "the refreshed lock is held too")
    lock.release()
    // Left behind as if its holder was killed: present, but no process holds it.
    let lease = try backend.writeHeld(ObjectHandle(.lock, "killed"), Array("{}".utf8))
    #expect(backend.isHeld(ObjectHandle(.lock, "killed")) == true)
    lease.release()
    #expect(backend.isHeld(ObjectHandle(.lock, "killed")) == false)
}

@Test func aLocalStoreClockIsTheKernelsFileTime() throws {
    let dir = NSTemporaryDirectory() + "cv-clock-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let backend = LocalBackend(path: dir)
    try backend.create()
    try backend.write(ObjectHandle(.lock, "a"), [1])
    let now = try backend.storeNow()
    let written = try #require(try backend.list(.lock).first?.modified)
    #expect(now >= written && now.timeIntervalSince(written) < 60)
    #expect(try backend.list(.lock).count == 1, "the probe file is gone")
}

@Test func aHolderWhoseLockWasRemovedCommitsNothing() throws {
    let (repo, backend) = try newRepository()
    let lock = try repo.lock(exclusive: false, command: "backup")
    let name = try #require(try backend.list(.lock).first?.name)
    try backend.delete(ObjectHandle(.lock, name))
    let error = #expect(throws: VaultError.self) { try repo.writeIndex(IndexFile(packs: [])) }
    #expect(error?.code == .locked)
    #expect(error?.message.contains("was removed by another process") == true, "\(error?.message ?? "")")
    #expect(error?.hint?.contains("run the backup again") == true)
    #expect(try backend.list(.index).isEmpty && backend.list(.snapshot).isEmpty, "nothing was committed")
    lock.release()
}

@Test func theRefresherNoticesAVanishedLockAndDoesNotRecreateIt() throws {
    let (repo, backend) = try newRepository()
    let lock = try repo.lock(exclusive: false, command: "backup")
    let name = try #require(try backend.list(.lock).first?.name)
    try backend.delete(ObjectHandle(.lock, name))
    lock.refresh()
    #expect(lock.isLost)
    #expect(try backend.list(.lock).isEmpty, "a lost lock is not written again")
    #expect(throws: VaultError.self) { try lock.confirmHeld() }
    lock.release()
}

@Test func aHolderWhoseLockWasReplacedByAnotherDocumentCommitsNothing() throws {
    let (repo, backend) = try newRepository()
    let lock = try repo.lock(exclusive: false, command: "backup")
    try lock.confirmHeld()
    let name = try #require(try backend.list(.lock).first?.name)
    try backend.delete(ObjectHandle(.lock, name))
    try backend.write(ObjectHandle(.lock, name), lockDocument(pid: getpid(), refreshed: Date(), exclusive: false))
    #expect(throws: VaultError.self) { try lock.confirmHeld() }
    lock.release()
}
