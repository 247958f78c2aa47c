import Glibc
import Synchronization

/// Test hook for end-to-end tests that must act while a process is paused at a known place (a
/// prune while a backup has stored a pack but committed nothing). With
/// `CHAINVAULT_TEST_STOP_AT=<name>` the process sends itself SIGSTOP the first time it passes the
/// point `name`; the test sees the stopped state in /proc and later sends SIGCONT. Waiting on a
/// state the process reports, not on a sleep, is what keeps such a test deterministic. Unset (as
/// in production) it costs one comparison.
public enum Failpoint {
    private static let wanted: String? = getenv("CHAINVAULT_TEST_STOP_AT").map { String(cString: $0) }
    private static let fired = Atomic<Bool>(false)
    /// Comma-separated: a test may make a step fail and then the undoing of it too.
    private static let failing: [String] =
        getenv("CHAINVAULT_TEST_FAIL_AT")
        .map { String(cString: $0).split(separator: ",").map(String.init) } ?? []
    private static let failed = Mutex<Set<String>>([])

    public static func stop(_ name: String) {
        guard let wanted, wanted == name, !fired.exchange(true, ordering: .relaxed) else { return }
        raise(SIGSTOP)
    }

    /// With `CHAINVAULT_TEST_FAIL_AT=<name>[,<name>…]` each point named throws, the first time it is passed,
    /// the error a name past NAME_MAX gives there (ENAMETOOLONG): a failure exactly at a step
    /// that a test cannot otherwise make fail (the last metadata step of a restore).
    public static func fail(_ name: String, _ path: @autoclosure () -> String) throws {
        guard !failing.isEmpty, failing.contains(name), failed.withLock({ $0.insert(name).inserted }) else { return }
        throw VaultError(
            .storageFailure, "cannot finish \(path())", cause: Errno(ENAMETOOLONG),
            hint: "injected by CHAINVAULT_TEST_FAIL_AT=\(name)")
    }
}
