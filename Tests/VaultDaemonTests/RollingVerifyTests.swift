import Foundation
import Testing
import VaultCore
import VaultDaemon

/// A month and a half of daily verify runs driven by the scheduler's fake clock, over a repository
/// whose packs come and go (each day backups add some, prunes remove some): every run reads at
/// least one pack, and every pack that existed when a 30-day window began, and still exists at its
/// end, was read within it.
@Test func theRollingVerifyReadsEveryPackOfAWindowWithinIt() {
    let clock = FakeClock("2026-11-01T00:00:00Z")
    let scheduler = Scheduler<String>(clock: clock)
    scheduler.add("verify:node", schedule: .every(seconds: 86_400))
    var rng = SplitMix64(seed: 30)
    func newPack() -> String { Hex.encode((0..<32).map { _ in UInt8(truncatingIfNeeded: rng.next()) }) }
    var packs = Set((0..<45).map { _ in newPack() })
    var coverage: VerifyCoverage?
    var lastRead: [String: Double] = [:]
    var windows: [(start: Double, packs: Set<String>)] = []
    let window = 30.0 * 86_400
    var runs = 0
    for _ in 0..<(75 * 24) {
        clock.advance(3600)
        // Backups add packs through the day; a prune now and then removes a few.
        if rng.next() % 6 == 0 { packs.insert(newPack()) }
        if rng.next() % 40 == 0 { packs.remove(packs.sorted()[Int(rng.next() % UInt64(packs.count))]) }
        for key in scheduler.due() {
            let now = clock.now.timeIntervalSince1970
            let (read, next) = RollingVerify.plan(
                coverage, packs: Array(packs), now: now, window: window, every: 86_400)
            scheduler.ran(key, at: clock.now)
            runs += 1
            #expect(!read.isEmpty, "run \(runs) read no pack")
            #expect(Set(read).isSubset(of: packs))
            if windows.last?.start != next.windowStart { windows.append((next.windowStart, packs)) }
            for p in read { lastRead[p] = now }
            coverage = next
            #expect(next.share > 0 && next.share <= 1)
            #expect(
                next.oldestUnreadAge(now: now) <= window + 2 * 86_400,
                "oldest unread \(next.oldestUnreadAge(now: now)) s")
        }
        // At each window's end: what existed at its start and still exists was read within it.
        let now = clock.now.timeIntervalSince1970
        for w in windows where w.start + window <= now && w.start + window > now - 3600 {
            let missed = w.packs.intersection(packs).filter { (lastRead[$0] ?? 0) < w.start }
            #expect(
                missed.isEmpty,
                "\(missed.count) of \(w.packs.count) packs unread at the end of the window from \(w.start)")
        }
    }
    #expect(runs == 75)
    #expect(windows.count >= 2, "the simulation covers at least two windows (\(windows.count))")
}

/// One run per window (verify as often as the window is long) reads everything; a run long after
/// the window ended reads everything left; no packs, nothing to read.
@Test func aLateOrSoleRunReadsEverythingLeft() {
    let packs = (0..<20).map { String(format: "%064x", $0 * 7919) }
    let (all, c) = RollingVerify.plan(nil, packs: packs, now: 0, window: 86_400, every: 86_400)
    #expect(all.count == 20 && c.complete && c.share == 1 && c.oldestUnreadAge(now: 10) == 0)
    let (first, partial) = RollingVerify.plan(nil, packs: packs, now: 0, window: 10 * 86_400, every: 86_400)
    #expect(first.count == 2 && !partial.complete && partial.unreadInWindow == 18)
    #expect(partial.oldestUnreadAge(now: 3600) == 3600, "never read: its age counts from the window's start")
    let (rest, done) = RollingVerify.plan(partial, packs: packs, now: 20 * 86_400, window: 10 * 86_400, every: 86_400)
    #expect(rest.count == 18 && done.complete)
    let (again, renewed) = RollingVerify.plan(done, packs: packs, now: 21 * 86_400, window: 10 * 86_400, every: 86_400)
    #expect(again.count == 2 && renewed.windowStart == 21 * 86_400 && renewed.readInWindow == 2)
    #expect(
        renewed.oldestUnreadSince == Double(20 * 86_400),
        "the next pack was last read by the previous window's last run")
    #expect(RollingVerify.plan(nil, packs: [], now: 0, window: 86_400, every: 3600).read.isEmpty)
}
