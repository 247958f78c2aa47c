import Foundation
import VaultCore

/// `--retry-lock DURATION`: a command that finds the repository locked waits and tries again, with
/// a growing pause (0.25 s doubling to 10 s, never past the deadline), until it gets the lock or
/// DURATION has passed; then it fails with the usual lock error (exit 12). Without the option the
/// first refusal is final, as before. A signal (SIGINT/SIGTERM) ends the wait at once.
struct LockRetry {
    let limit: Double

    init(_ args: Arguments) throws {
        limit = try args.value("--retry-lock").map(parseDuration) ?? 0
    }

    func attempt<T>(_ what: String, out: Output, cancellation: Cancellation, _ body: () throws -> T) throws -> T {
        let deadline = Date().addingTimeInterval(limit)
        var pause = 0.25
        var announced = false
        while true {
            do { return try body() } catch let e as VaultError where e.code == .locked {
                let left = deadline.timeIntervalSinceNow
                guard left > 0 else { throw e }
                if !announced {
                    // Said once, so an operator (or a test) sees the command is waiting, not hung.
                    out.warning("waiting up to \(Format.duration(limit)) for the lock (\(what)): \(e.message)")
                    announced = true
                }
                try sleep(min(pause, left), cancellation: cancellation)
                pause = min(pause * 2, 10)
            }
        }
    }

    /// Sleeps in short steps so a cancelled command stops waiting within 0.1 s.
    private func sleep(_ seconds: Double, cancellation: Cancellation) throws {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            try cancellation.check()
            usleep(useconds_t(min(0.1, max(0, end.timeIntervalSinceNow)) * 1_000_000))
        }
    }
}
