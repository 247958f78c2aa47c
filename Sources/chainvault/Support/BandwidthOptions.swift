import Synchronization
import VaultCore
import VaultStorage

/// The command's bandwidth limits, parsed once so every backend it opens shares the same buckets.
final class BandwidthOptions: Sendable {
    private let parsed = Mutex<BandwidthLimits?>(nil)

    /// Their waits end when `cancellation` does (SIGINT/SIGTERM stop a limited command at once).
    func limits(_ args: Arguments, cancellation: Cancellation) throws -> BandwidthLimits {
        try parsed.withLock { cached in
            if let cached { return cached }
            func bucket(_ option: String) throws -> TokenBucket? {
                try args.value(option).map {
                    TokenBucket(bytesPerSecond: try BandwidthLimits.kibPerSecond($0, option: option))
                }
            }
            let limits = BandwidthLimits(
                upload: try bucket("--limit-upload"), download: try bucket("--limit-download"),
                cancellation: cancellation)
            cached = limits
            return limits
        }
    }
}
