import Foundation
import VaultCore
import VaultRepository

/// The chunk ids of one file, filled in by workers as its chunks are hashed.
/// @unchecked: every mutable field is read and written only under `lock` (NSLock, not a `Mutex`, to
/// keep this hot-path type's diff small while the archiver is reworked).
final class FileChunks: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [BlobID] = []
    private var bytes: UInt64 = 0
    private var runs: [ZeroRun] = []
    private var content: ContentTransform?

    /// The bytes actually read (the reader sets it when the file is done).
    var size: UInt64 {
        get { lock.withLock { bytes } }
        set { lock.withLock { bytes = newValue } }
    }

    /// The zero runs the reader recorded (holes, preallocated space, all-zero chunks).
    var zeroRuns: [ZeroRun] { lock.withLock { runs } }

    /// How the stored bytes differ from the file's (a de-obfuscated block file).
    var transform: ContentTransform? { lock.withLock { content } }

    func finish(size: UInt64, zeroRuns: [ZeroRun], transform: ContentTransform? = nil) {
        lock.withLock {
            bytes = size; runs = zeroRuns; content = transform
        }
    }

    func reserve() -> Int {
        lock.withLock {
            ids.append(.zero); return ids.count - 1
        }
    }
    func set(_ i: Int, _ id: BlobID) { lock.withLock { ids[i] = id } }
    var all: [BlobID] { lock.withLock { ids } }
}
