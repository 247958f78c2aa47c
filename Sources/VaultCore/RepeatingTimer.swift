import Foundation

/// Calls `handler` every `interval` seconds on a thread of its own until `cancel()` or until the
/// timer is released. It replaces dispatch timer sources, which start libdispatch's user-interactive
/// manager thread (see `SignalWatcher` for why that matters under systemd).
public final class RepeatingTimer: Sendable {
    private let control = Control()

    public init(interval: TimeInterval, name: String, handler: @escaping @Sendable () -> Void) {
        let t = Thread { [control] in
            var next = Date().addingTimeInterval(interval)
            while control.wait(until: next) {
                handler()
                next = next.addingTimeInterval(interval)
                if next < Date() { next = Date().addingTimeInterval(interval) }  // no burst after a slow call
            }
        }
        t.name = name
        t.start()
    }

    /// Stops the timer; a handler already running finishes, no further call starts.
    public func cancel() { control.cancel() }

    deinit { control.cancel() }

    // @unchecked: `cancelled` is only touched under `condition`, whose timed wait `Mutex` lacks.
    private final class Control: @unchecked Sendable {
        private let condition = NSCondition()
        private var cancelled = false

        /// Sleeps until `deadline`; false when cancelled first.
        func wait(until deadline: Date) -> Bool {
            condition.lock()
            defer { condition.unlock() }
            while !cancelled && Date() < deadline { _ = condition.wait(until: deadline) }
            return !cancelled
        }

        func cancel() {
            condition.lock()
            cancelled = true
            condition.broadcast()
            condition.unlock()
        }
    }
}
