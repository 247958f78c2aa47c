import Foundation

/// Chunk buffers the saver's workers are done with, handed back to the file readers (issue 17:
/// a fresh 1 MiB allocation per chunk came from a new mapping each time, and its page faults and
/// the kernel's zero fill cost ~3 % of a first backup's CPU). Bounded by count, so what it keeps
/// is at most `keep` maximum chunks, beside the saver's byte budget.
final class SpareBuffers: @unchecked Sendable {
    // Safe: `spares` is only read and written under `lock`.
    private let lock = NSLock()
    private var spares: [[UInt8]] = []
    private let keep: Int
    private let size: Int

    /// Buffers of `size` bytes (the largest chunk), at most `keep` of them kept.
    init(size: Int, keep: Int) { self.size = size; self.keep = keep }

    /// A buffer of at least `count` bytes whose content is unspecified (a used one holds the
    /// sealed bytes of an earlier blob): the caller overwrites what it uses.
    func take(_ count: Int) -> [UInt8] {
        if count <= size, let spare = lock.withLock({ spares.popLast() }) { return spare }
        lock.withLock { made += 1 }
        // Not zero-filled: every byte a blob uses is written first.
        return [UInt8](unsafeUninitializedCapacity: max(count, size)) { _, n in n = max(count, size) }
    }

    /// How many buffers `take` had to allocate (tests prove the workers give theirs back).
    var allocated: Int { lock.withLock { made } }
    private var made = 0

    /// Takes `buffer` (leaving it empty): swapped in under the lock, so the kept buffer has no
    /// second owner when a reader takes it (a shared one would be copied whole on its first write:
    /// perf showed that copy, and a page fault per page, on every chunk).
    func put(_ buffer: inout [UInt8]) {
        guard buffer.count >= size else { return }
        lock.withLock {
            guard spares.count < keep else { return }
            spares.append([])
            swap(&spares[spares.count - 1], &buffer)
        }
    }
}
