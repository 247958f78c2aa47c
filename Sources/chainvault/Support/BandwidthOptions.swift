import Synchronization
import VaultStorage

/// The command's bandwidth limits, parsed once so every backend it opens shares the same buckets.
final class BandwidthOptions: Sendable {
    private let parsed = Mutex<BandwidthLimits?>(nil)

    func limits(_ args: Arguments) throws -> BandwidthLimits {
        try parsed.withLock { cached in
            if let cached { return cached }
            func bucket(_ option: String) throws -> TokenBucket? {
                try args.value(option).map { TokenBucket(bytesPerSecond: try BandwidthLimits.kibPerSecond($0, option: option)) }
            }
            let limits = BandwidthLimits(upload: try bucket("--limit-upload"), download: try bucket("--limit-download"))
            cached = limits
            return limits
        }
    }
}
