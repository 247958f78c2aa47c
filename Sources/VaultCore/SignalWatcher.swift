import Foundation
import Glibc
import Synchronization

/// SIGINT, SIGTERM and SIGHUP, received by one thread with `sigwait` instead of dispatch signal
/// sources: a dispatch source makes libdispatch start its user-interactive manager thread, which
/// asks for nice -4 and, refused in the shipped sandbox, logs "Failed to set thread priority" to the
/// journal (issue 12). `start()` must run before the process starts any other thread: it blocks
/// the signals in the calling thread, every later thread inherits that mask, and so the watcher is
/// the only thread they are delivered to. Children started with `posix_spawn` get an empty mask and
/// default dispositions back (`HookRunner`).
public enum SignalWatcher {
    public static let watched: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    private static let state = State()

    /// Blocks the watched signals and starts the thread that receives them. Idempotent.
    public static func start() {
        guard state.markStarted() else { return }
        var set = sigset_t()
        sigemptyset(&set)
        for s in watched { sigaddset(&set, s) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        let blocked = set
        let t = Thread {
            var waitSet = blocked
            while true {
                var signal: Int32 = 0
                guard sigwait(&waitSet, &signal) == 0 else { continue }
                deliver(signal)
            }
        }
        t.name = "signals"
        t.start()
    }

    /// Runs `handler` on the watcher's thread each time `signal` arrives; replaces an earlier one.
    public static func on(_ signal: Int32, _ handler: @escaping @Sendable () -> Void) {
        state.set(signal, handler)
    }

    /// A watched signal nobody handles does what it would have done by default (terminate), so a
    /// SIGHUP to a CLI command still ends it as before.
    private static func deliver(_ signal: Int32) {
        if let handler = state.handler(signal) { handler(); return }
        Glibc.signal(signal, SIG_DFL)
        var one = sigset_t()
        sigemptyset(&one)
        sigaddset(&one, signal)
        pthread_sigmask(SIG_UNBLOCK, &one, nil)
        raise(signal)
    }

    private final class State: Sendable {
        private struct Fields {
            var started = false
            var handlers: [Int32: @Sendable () -> Void] = [:]
        }
        private let fields = Mutex(Fields())

        func markStarted() -> Bool {
            fields.withLock { f in
                defer { f.started = true }; return !f.started
            }
        }
        func set(_ s: Int32, _ h: @escaping @Sendable () -> Void) { fields.withLock { $0.handlers[s] = h } }
        func handler(_ s: Int32) -> (@Sendable () -> Void)? { fields.withLock { $0.handlers[s] } }
    }
}
