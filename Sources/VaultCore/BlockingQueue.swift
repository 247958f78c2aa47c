import Foundation

/// A bounded FIFO between threads: `push` waits while full, `pop` waits while empty and returns nil
/// once the queue is closed and drained. The bound is what keeps pipeline memory constant.
/// @unchecked: every field is read and written only with `condition` locked; the waits need a
/// condition variable, which `Mutex` does not have. Items cross threads: callers send their own.
public final class BlockingQueue<T>: @unchecked Sendable {
    private let condition = NSCondition()
    // A ring of optionals: a popped slot is set to nil at once, so the queue never keeps a
    // reference to an item it has handed out (a chunk buffer is megabytes).
    private var slots: [T?]
    private var head = 0
    private var count = 0
    private var closed = false

    public init(capacity: Int) { slots = [T?](repeating: nil, count: max(1, capacity)) }

    public func push(_ item: T) {
        condition.lock()
        while count == slots.count && !closed { condition.wait() }
        slots[(head + count) % slots.count] = item
        count += 1
        condition.broadcast()
        condition.unlock()
    }

    public func pop() -> T? {
        condition.lock()
        defer { condition.unlock() }
        while count == 0 && !closed { condition.wait() }
        guard count > 0 else { return nil }
        let item = slots[head]
        slots[head] = nil
        head = (head + 1) % slots.count
        count -= 1
        condition.broadcast()
        return item
    }

    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}

/// A budget of bytes in flight: `acquire` waits while taking `n` more would exceed the limit
/// (one request larger than the whole budget still passes when nothing else is held). Chunks
/// average 1 MiB but may reach 4 MiB, so bounding bytes rather than buffers keeps memory both
/// small and constant.
/// @unchecked: `used` is read and written only with `condition` locked (its waits need a
/// condition variable, which `Mutex` does not have); `limit` is immutable.
public final class ByteBudget: @unchecked Sendable {
    private let condition = NSCondition()
    private let limit: Int
    private var used = 0

    public init(limit: Int) { self.limit = limit }

    public func acquire(_ n: Int) {
        condition.lock()
        while used > 0 && used + n > limit { condition.wait() }
        used += n
        condition.unlock()
    }

    public func release(_ n: Int) {
        condition.lock()
        used -= n
        condition.broadcast()
        condition.unlock()
    }
}

/// A flag set from a signal handler or another thread, polled at safe points, and a sleep that
/// ends when it is set (a bandwidth limit's wait, which may last minutes).
public final class Cancellation: @unchecked Sendable {
    // @unchecked: `cancelled` is only read and written under `condition`, whose wait (the
    // limiter's sleep that cancellation ends) `Mutex` cannot do.
    private let condition = NSCondition()
    private var cancelled = false
    public init() {}
    public var isCancelled: Bool { condition.withLock { cancelled } }

    public func cancel() {
        condition.withLock {
            cancelled = true
            condition.broadcast()
        }
    }

    public func check() throws {
        if isCancelled { throw Self.interrupted }
    }

    static var interrupted: VaultError {
        VaultError(.interrupted, "interrupted", hint: "run the command again; work already stored is reused")
    }

    /// Returns after `seconds` of the monotonic clock, or throws `interrupted` as soon as this is
    /// cancelled (also when it already was). A wait on the condition `cancel` broadcasts, not a
    /// poll; the time left is taken from the monotonic clock after every wake-up, so an early or
    /// spurious one, or the wall clock moving, only costs another wait.
    public func sleep(_ seconds: Double) throws {
        let end = Monotonic.nanoseconds() &+ UInt64(max(0, seconds) * 1e9)
        condition.lock()
        defer { condition.unlock() }
        while !cancelled {
            let now = Monotonic.nanoseconds()
            if now >= end { return }
            _ = condition.wait(until: Date(timeIntervalSinceNow: Double(end - now) / 1e9))
        }
        throw Self.interrupted
    }
}

/// CLOCK_MONOTONIC in nanoseconds: durations that the wall clock's steps do not change.
public enum Monotonic {
    public static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// Threads draining one bounded queue: `start` them (each runs `body`, which pops until the queue
/// is closed and keeps its own per-thread state, such as a codec or a read buffer), then `finish`
/// closes the queue and waits for all of them. The backup's chunk savers and file readers and the
/// restore's writers are all one of these.
/// @unchecked: both fields are immutable references to thread-safe objects (the queue above and a
/// `DispatchGroup`); `Job` values cross threads through the queue, sent by the caller.
public final class WorkerPool<Job>: @unchecked Sendable {
    public let queue: BlockingQueue<Job>
    private let finished = DispatchGroup()

    public init(capacity: Int) { queue = BlockingQueue(capacity: capacity) }

    public func start(_ count: Int, name: String, body: @escaping @Sendable () -> Void) {
        for i in 0..<count {
            finished.enter()
            let t = Thread { [finished] in
                body(); finished.leave()
            }
            t.name = "\(name)-\(i)"
            t.start()
        }
    }

    /// No more jobs; returns when every thread has drained the queue and returned.
    public func finish() {
        queue.close()
        finished.wait()
    }
}
