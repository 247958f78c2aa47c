import VaultCore

/// The bandwidth limits of a command or a daemon's job: no bucket is unlimited. A transfer takes
/// from every bucket of its direction (the daemon's repository-wide one and the policy's), and
/// a limit's wait ends early, with `interrupted`, when `cancellation` is cancelled.
public struct BandwidthLimits: Sendable {
    public var uploads: [TokenBucket]
    public var downloads: [TokenBucket]
    public var cancellation: Cancellation?

    public init(upload: TokenBucket? = nil, download: TokenBucket? = nil, cancellation: Cancellation? = nil) {
        uploads = upload.map { [$0] } ?? []
        downloads = download.map { [$0] } ?? []
        self.cancellation = cancellation
    }

    public static let none = BandwidthLimits()
    public var isEmpty: Bool { uploads.isEmpty && downloads.isEmpty }

    /// Both sets of limits at once (the lower rate wins in each direction); `self`'s cancellation,
    /// else `other`'s.
    public func combined(with other: BandwidthLimits) -> BandwidthLimits {
        var both = self
        both.uploads += other.uploads.filter { b in !uploads.contains { $0 === b } }
        both.downloads += other.downloads.filter { b in !downloads.contains { $0 === b } }
        both.cancellation = cancellation ?? other.cancellation
        return both
    }

    /// The same limits, their waits ended by `cancellation`.
    public func cancelled(by cancellation: Cancellation?) -> BandwidthLimits {
        var limited = self
        limited.cancellation = cancellation
        return limited
    }

    func takeUpload(_ count: Int) throws { try TokenBucket.take(count, from: uploads, cancellation: cancellation) }
    func takeDownload(_ count: Int) throws { try TokenBucket.take(count, from: downloads, cancellation: cancellation) }

    /// A limit as the command line and the config write it: KiB/s, a positive number.
    public static func kibPerSecond(_ text: String, option: String) throws -> Double {
        guard let v = Double(text), v.isFinite, v > 0 else {
            throw VaultError(
                .usage, "\(option) '\(text)' is not a rate in KiB/s",
                hint: "give a positive number of KiB per second, e.g. \(option) 2048 for 2 MiB/s")
        }
        return v * 1024
    }
}
