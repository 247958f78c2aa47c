import Glibc
import Synchronization
import VaultCore

/// `Failpoint.stop` for a restore's phases, then (only in the run that stopped there) held until
/// SIGTERM has set the cancellation: the signal reaches its own thread (`SignalWatcher`) at a
/// moment the test does not control, and a test of "SIGTERM stops this phase" must not race it.
/// A test that continues the process without SIGTERM goes on after at most 60 s.
enum RestoreFailpoint {
    private static let wanted: String? = getenv("CHAINVAULT_TEST_STOP_AT").map { String(cString: $0) }
    private static let fired = Atomic<Bool>(false)

    static func stop(_ name: String, until cancellation: Cancellation) {
        guard let wanted, wanted == name, !fired.exchange(true, ordering: .relaxed) else { return }
        raise(SIGSTOP)
        var waited = 0
        while !cancellation.isCancelled && waited < 60_000 {
            usleep(1_000)
            waited += 1
        }
    }
}
