import Foundation
import Glibc
import Synchronization
import VaultCore

/// A transfer rate in bytes per second, shared by every thread (and every backend) that moves
/// bytes through it, so `--limit-upload 2048` caps the whole command, not each worker. A token
/// bucket with debt: a transfer takes its size at once and, when that leaves the bucket below
/// zero, its thread waits exactly as long as the debt takes to refill. No polling, and a
/// transfer larger than the burst is allowed (objects are written whole), its cost paid by the
/// wait that follows. The rate can change under way (a daemon reload).
public final class TokenBucket: Sendable {
    struct State {
        var rate: Double
        var tokens: Double
        var last: UInt64
    }

    private let state: Mutex<State>

    /// What may pass at full speed after an idle moment: a quarter second's worth, at least 64 KiB.
    static func burst(_ rate: Double) -> Double { max(rate / 4, 65_536) }

    public init(bytesPerSecond: Double) {
        state = Mutex(State(rate: bytesPerSecond, tokens: Self.burst(bytesPerSecond), last: Monotonic.nanoseconds()))
    }

    public var bytesPerSecond: Double { state.withLock { $0.rate } }

    public func setRate(_ bytesPerSecond: Double) {
        state.withLock { s in
            Self.refill(&s)
            s.rate = bytesPerSecond
            s.tokens = min(s.tokens, Self.burst(bytesPerSecond))
        }
    }

    /// Takes `count` bytes' worth and returns when the rate allows them; with a `cancellation`,
    /// throws `interrupted` as soon as it is cancelled instead (SIGTERM must not wait for a debt
    /// that can take minutes to refill).
    public func take(_ count: Int, cancellation: Cancellation? = nil) throws {
        try Self.take(count, from: [self], cancellation: cancellation)
    }

    /// Takes `count` bytes' worth from every bucket and waits for the one that needs longest: the
    /// transfer then keeps every bucket's rate, so the lowest rate wins.
    static func take(_ count: Int, from buckets: [TokenBucket], cancellation: Cancellation?) throws {
        guard count > 0, !buckets.isEmpty else { return }
        let wait = buckets.map { $0.debit(count) }.max() ?? 0
        guard wait > 0 else { return }
        if let cancellation {
            do { try cancellation.sleep(wait) } catch {
                // The transfer will not happen: its debt must not hold up what runs after the
                // cancellation (the daemon's audit copy after an interrupted job).
                for b in buckets { b.refund(count) }
                throw error
            }
            return
        }
        var t = timespec(tv_sec: Int(wait), tv_nsec: Int((wait - wait.rounded(.down)) * 1e9))
        var left = timespec()
        // nanosleep leaves the time still to sleep in `left` when a signal interrupts it.
        while nanosleep(&t, &left) == -1 && errno == EINTR { t = left }
    }

    /// Takes `count` bytes' worth now; returns the seconds until the bucket is out of debt.
    private func debit(_ count: Int) -> Double {
        state.withLock { s -> Double in
            Self.refill(&s)
            s.tokens -= Double(count)
            return s.tokens < 0 ? -s.tokens / s.rate : 0
        }
    }

    /// Gives back what a transfer took that did not happen.
    private func refund(_ count: Int) {
        state.withLock { s in
            Self.refill(&s)
            s.tokens = min(Self.burst(s.rate), s.tokens + Double(count))
        }
    }

    private static func refill(_ s: inout State) {
        let now = Monotonic.nanoseconds()
        s.tokens = min(burst(s.rate), s.tokens + Double(now &- s.last) / 1e9 * s.rate)
        s.last = now
    }
}
