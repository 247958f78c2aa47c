import Foundation
import Synchronization
import Testing
import VaultDaemon

final class FakeClock: WallClock, Sendable {
    private let time: Mutex<Date>
    var now: Date { time.withLock { $0 } }
    init(_ iso: String) { time = Mutex(ISO8601DateFormatter().date(from: iso)!) }
    func advance(_ seconds: Double) { time.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

func utc(_ iso: String) -> Date { ISO8601DateFormatter().date(from: iso)! }

@Test(arguments: [
    (Policy.ScheduleSpec(every: "6h"), Schedule.every(seconds: 21_600)),
    (Policy.ScheduleSpec(daily: "03:30"), Schedule.daily(minuteOfDay: 210)),
    (Policy.ScheduleSpec(weekly: "sun 04:00"), Schedule.weekly(weekday: 0, minuteOfDay: 240)),
    (Policy.ScheduleSpec(weekly: "Friday 23:59"), Schedule.weekly(weekday: 5, minuteOfDay: 1439))
])
func schedulesParse(_ spec: Policy.ScheduleSpec, _ expected: Schedule) throws {
    #expect(try Schedule.parse(spec) == expected)
}

@Test(arguments: [
    Policy.ScheduleSpec(), Policy.ScheduleSpec(every: "6h", daily: "03:00"), Policy.ScheduleSpec(every: "0.5s"),
    Policy.ScheduleSpec(every: "often"), Policy.ScheduleSpec(daily: "25:00"),
    Policy.ScheduleSpec(weekly: "someday 04:00")
])
func badSchedulesAreRejected(_ spec: Policy.ScheduleSpec) {
    #expect(throws: PolicyProblem.self) { try Schedule.parse(spec) }
}

@Test func calendarSchedulesFindTheNextUTCTime() {
    #expect(Schedule.daily(minuteOfDay: 210).next(after: utc("2026-11-23T01:00:00Z")) == utc("2026-11-23T03:30:00Z"))
    #expect(Schedule.daily(minuteOfDay: 210).next(after: utc("2026-11-23T03:30:00Z")) == utc("2026-11-24T03:30:00Z"))
    // 2026-11-23 is a Monday; the next Sunday 04:00 is the 29th.
    #expect(
        Schedule.weekly(weekday: 0, minuteOfDay: 240).next(after: utc("2026-11-23T12:00:00Z"))
            == utc("2026-11-29T04:00:00Z"))
    #expect(
        Schedule.weekly(weekday: 1, minuteOfDay: 240).next(after: utc("2026-11-23T03:00:00Z"))
            == utc("2026-11-23T04:00:00Z"))
    #expect(
        Schedule.weekly(weekday: 1, minuteOfDay: 240).next(after: utc("2026-11-23T05:00:00Z"))
            == utc("2026-11-30T04:00:00Z"))
}

@Test func anIntervalJobThatNeverRanIsDueAtOnceThenEveryInterval() {
    let clock = FakeClock("2026-11-23T00:00:00Z")
    let s = Scheduler<String>(clock: clock)
    s.add("node", schedule: .every(seconds: 3600))
    #expect(s.due() == ["node"])
    s.ran("node", at: clock.now)
    #expect(s.due().isEmpty)
    clock.advance(3599)
    #expect(s.due().isEmpty)
    clock.advance(1)
    #expect(s.due() == ["node"])
}

@Test func runsMissedWhileDownRunOnceNotOncePerSlot() {
    let clock = FakeClock("2026-11-23T12:00:00Z")
    let s = Scheduler<String>(clock: clock)
    s.add("node", schedule: .every(seconds: 3600), lastRun: utc("2026-11-22T12:00:00Z"))  // 24 slots missed
    #expect(s.due() == ["node"])
    s.ran("node", at: clock.now)
    #expect(s.due().isEmpty, "one catch-up run, then back on schedule")
    #expect(s.entry("node")?.nextRun == utc("2026-11-23T13:00:00Z"))
    let daily = Scheduler<String>(clock: clock)
    daily.add("d", schedule: .daily(minuteOfDay: 180), lastRun: utc("2026-11-20T03:00:00Z"))
    #expect(daily.due() == ["d"])
}

@Test func jitterStaysWithinItsBound() {
    let clock = FakeClock("2026-11-23T00:00:00Z")
    for r in [0.0, 0.5, 0.999] {
        let s = Scheduler<String>(clock: clock, random: { r })
        s.add("n", schedule: .daily(minuteOfDay: 60), jitter: 600)
        let next = s.entry("n")!.nextRun
        #expect(next >= utc("2026-11-23T01:00:00Z") && next < utc("2026-11-23T01:10:00Z"))
        #expect(abs(next.timeIntervalSince(utc("2026-11-23T01:00:00Z")) - r * 600) < 0.001)
    }
}

@Test func theQueueRunsOneJobAtATimeInOrderWithoutDuplicates() {
    let q = JobQueue<String>()
    #expect(q.enqueue("backup:a"))
    #expect(q.enqueue("backup:b"))
    #expect(!q.enqueue("backup:a"), "already waiting")
    #expect(q.start() == "backup:a")
    #expect(q.start() == nil, "one at a time")
    #expect(!q.enqueue("backup:a"), "already running")
    q.finish("backup:a")
    #expect(q.start() == "backup:b")
    q.finish("backup:b")
    #expect(q.start() == nil)
}

/// A failed job is retried after 1, 2, 4 … minutes (capped), not a whole period later and not at
/// once; a success puts it back on its schedule.
@Test func aFailedJobIsRetriedWithBackoffNotAfterAFullPeriod() {
    let clock = FakeClock("2026-11-23T00:00:00Z")
    let s = Scheduler<String>(clock: clock)
    s.add("backup:node", schedule: .every(seconds: 21_600), retryCap: 900)
    var waits: [Double] = []
    for failures in 1...6 {
        #expect(s.due() == ["backup:node"])
        let started = clock.now
        s.ran("backup:node", at: started)
        s.failed("backup:node", failures: failures, startedAt: started)
        let wait = s.entry("backup:node")!.nextRun.timeIntervalSince(started)
        waits.append(wait)
        clock.advance(wait - 1)
        #expect(s.due().isEmpty, "retry \(failures) came before its backoff")
        clock.advance(1)
    }
    #expect(waits == [60, 120, 240, 480, 900, 900])
    let started = clock.now
    s.ran("backup:node", at: started)
    #expect(s.entry("backup:node")!.nextRun == started.addingTimeInterval(21_600), "a success: back on schedule")
}

/// A job that was running when the daemon died (a crash on the job thread, a SIGKILL) is not due
/// the moment the daemon restarts: its attempt count was saved before it started, and it waits out
/// the backoff, so a source that crashes the daemon cannot make it crash again every second.
@Test func aJobThatTookTheDaemonDownWaitsOutItsBackoffAfterARestart() {
    let clock = FakeClock("2026-11-23T12:00:00Z")
    let s = Scheduler<String>(clock: clock)
    // Last success a day ago (so a run is overdue), and 3 attempts since, the last 10 s ago.
    s.add(
        "backup:node", schedule: .every(seconds: 3600), lastRun: utc("2026-11-22T12:00:00Z"),
        failures: 3, lastAttempt: clock.now.addingTimeInterval(-10))
    #expect(s.due().isEmpty, "due at once after a crash: a crash loop")
    #expect(s.entry("backup:node")?.nextRun == clock.now.addingTimeInterval(230))
    clock.advance(230)
    #expect(s.due() == ["backup:node"])
    // Backoff long past (the daemon was down for hours): due now, once.
    let later = Scheduler<String>(clock: clock)
    later.add("backup:node", schedule: .every(seconds: 3600), failures: 8, lastAttempt: utc("2026-11-23T01:00:00Z"))
    #expect(later.due() == ["backup:node"])
}
