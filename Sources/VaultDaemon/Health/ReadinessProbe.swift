import Dispatch
import Foundation
import Synchronization
import VaultCore
import VaultRepository
import VaultStorage

/// Readiness from a recent, real look at the repository, made on a thread of its own every
/// `every` seconds and never on a request: the config object's size and one listing of the small
/// `locks/` prefix. Bounded cost: two requests, no key work, and no new connection (for S3 no TLS
/// handshake) while the store stays healthy: one backend is kept between looks. It is opened
/// afresh after a failed look and every `reopenEvery` seconds, so nothing opened once (a
/// descriptor, a keep-alive connection to a balancer) can hide a dead store for long; a pooled
/// connection the store has dropped is retried on a new one within the same look. A probe
/// that takes longer than `timeout` counts as failed; the next waits until it has returned, so a
/// hung store never piles up threads. `/readyz` is 503 when the last probe failed or is older
/// than `maxAge`.
public final class ReadinessProbe: Sendable {
    public struct Outcome: Sendable {
        public var at: Date
        public var ok: Bool
        public var detail: String
        public var seconds: Double
        /// Lock objects the probe saw (this daemon's and other processes').
        public var locks: Int?
    }

    struct State {
        var last: Outcome?
        var inFlight = false
        var stopped = false
        /// The backend of the last good look, its location and when it was opened.
        var kept: (location: String, opened: Date, backend: Backend)?
    }

    public let every: Double
    public let timeout: Double
    public let reopenEvery: Double
    private let location: @Sendable () -> String
    private let onChange: @Sendable (Outcome) -> Void
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)

    /// Older than three periods and a timeout: the probe thread itself is stuck or gone.
    public var maxAge: Double { 3 * every + timeout }

    public init(
        every: Double, timeout: Double, reopenEvery: Double = 300, location: @escaping @Sendable () -> String,
        onChange: @escaping @Sendable (Outcome) -> Void
    ) {
        self.every = every; self.timeout = timeout; self.reopenEvery = reopenEvery
        self.location = location; self.onChange = onChange
    }

    public func start() {
        let t = Thread { [self] in
            while !state.withLock({ $0.stopped }) {
                probeOnce()
                _ = wake.wait(timeout: .now() + every)
            }
        }
        t.name = "readiness-probe"
        t.start()
    }

    public func stop() {
        state.withLock { $0.stopped = true }
        wake.signal()
    }

    /// Runs one probe now and records its outcome (also used to probe at once after a reload).
    public func probeOnce() {
        let busy = state.withLock { s -> Bool in
            if s.inFlight { return true }
            s.inFlight = true
            return false
        }
        if busy {
            record(
                Outcome(
                    at: Date(), ok: false, detail: "the previous probe has not returned after \(Int(timeout)) s",
                    seconds: timeout, locks: nil))
            return
        }
        let finished = DispatchSemaphore(value: 0)
        let result = Mutex<Outcome?>(nil)
        let path = location()
        let started = Date()
        let worker = Thread { [self] in
            let outcome = look(path, started: started)
            result.withLock { $0 = outcome }
            state.withLock { $0.inFlight = false }
            finished.signal()
        }
        worker.name = "readiness-look"
        worker.start()
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            record(
                Outcome(
                    at: Date(), ok: false, detail: "the repository did not answer within \(Int(timeout)) s",
                    seconds: timeout, locks: nil))
            return
        }
        if let outcome = result.withLock({ $0 }) { record(outcome) }
    }

    /// The kept backend while the last look was good and it is younger than `reopenEvery`,
    /// else a fresh one; a failed look drops it, so the next opens afresh.
    func look(_ path: String, started: Date) -> Outcome {
        let reuse = state.withLock { s -> Backend? in
            guard let k = s.kept, k.location == path, s.last?.ok == true,
                started.timeIntervalSince(k.opened) < reopenEvery
            else { return nil }
            return k.backend
        }
        let outcome = Self.look(path, reuse: reuse, started: started)
        state.withLock { s in
            if outcome.0.ok, let b = outcome.1 {
                s.kept = (path, reuse == nil ? started : s.kept?.opened ?? started, b)
            } else {
                s.kept = nil
            }
        }
        return outcome.0
    }

    static func look(_ path: String, reuse: Backend?, started: Date) -> (Outcome, Backend?) {
        var opened: Backend?
        do {
            let backend = try reuse ?? openBackend(path)
            opened = backend
            let seen = try Repository.probe(backend)
            guard seen.configBytes != nil else {
                return (
                    Outcome(
                        at: Date(), ok: false, detail: "no config object at \(path)",
                        seconds: Date().timeIntervalSince(started), locks: nil), nil
                )
            }
            let locks = seen.locks
            return (
                Outcome(
                    at: Date(), ok: true, detail: "config and locks/ readable",
                    seconds: Date().timeIntervalSince(started), locks: locks), opened
            )
        } catch {
            let text = (error as? VaultError)?.message ?? "\(error)"
            return (
                Outcome(at: Date(), ok: false, detail: text, seconds: Date().timeIntervalSince(started), locks: nil),
                nil
            )
        }
    }

    private func record(_ outcome: Outcome) {
        let before = state.withLock { s -> Outcome? in
            let b = s.last
            s.last = outcome
            return b
        }
        if before?.ok != outcome.ok || before?.detail != outcome.detail { onChange(outcome) }
    }

    public var last: Outcome? { state.withLock { $0.last } }

    /// (ready, why) for /readyz.
    public func check(now: Date = Date()) -> (Bool, String) {
        guard let last else { return (false, "no probe yet") }
        let age = now.timeIntervalSince(last.at)
        if age > maxAge { return (false, "last probe \(Int(age)) s ago (older than \(Int(maxAge)) s)") }
        return (last.ok, last.ok ? "\(last.detail) \(Int(age)) s ago" : "failed \(Int(age)) s ago: \(last.detail)")
    }
}
