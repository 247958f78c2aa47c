import Dispatch
import Foundation

public enum Parallel {
    /// The number of workers for CPU-bound stages: the cores we have.
    public static var cores: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Maps `items` on up to `workers` threads, keeping order; rethrows the first error.
    ///
    /// The workers are plain threads, not `DispatchQueue.concurrentPerform`: libdispatch starts a
    /// user-interactive thread for it and asks for nice -4, which a sandboxed daemon may not have
    /// ("Failed to set thread priority for worker thread" in the journal, issue 12). The callers
    /// map coarse items (index files, packs, block files), so a thread per worker costs nothing.
    public static func map<T, R>(_ items: [T], workers: Int = Parallel.cores, _ body: (T) throws -> R) throws -> [R] {
        if items.isEmpty { return [] }
        let count = min(max(workers, 1), items.count)
        return try withoutActuallyEscaping(body) { body in
            // The threads hold only `results`; `body` is dropped from it before this block ends,
            // whenever the threads themselves go away.
            let results = Slots<R>(count: items.count) { try body(items[$0]) }
            let done = DispatchGroup()
            for i in 1..<count {
                done.enter()
                let t = Thread {
                    results.drain(); done.leave()
                }
                t.name = "parallel-\(i)"
                t.start()
            }
            results.drain()
            done.wait()
            return try results.collect()
        }
    }
}

/// Results by index, filled by several threads: each index is claimed by exactly one thread under
/// the lock (`next`), and written only by it, so the unlocked writes never overlap; `collect`
/// reads them after every thread was joined through the group. @unchecked for that reason: the
/// compiler cannot see the one-writer-per-index rule.
private final class Slots<R>: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private var firstError: Error?
    private var values: [R?]
    private var compute: ((Int) throws -> R)?

    init(count: Int, compute: @escaping (Int) throws -> R) {
        values = [R?](repeating: nil, count: count)
        self.compute = compute
    }

    /// Runs until every index is claimed; `compute` is only read here, and only cleared by
    /// `collect` after every drain returned.
    func drain() {
        guard let compute else { return }
        while true {
            let i: Int = lock.withLock {
                if firstError != nil || next >= values.count { return -1 }
                defer { next += 1 }
                return next
            }
            if i < 0 { return }
            do {
                let value = try compute(i)
                lock.withLock { values[i] = value }
            } catch {
                lock.withLock { if firstError == nil { firstError = error } }
            }
        }
    }

    func collect() throws -> [R] {
        compute = nil
        return try lock.withLock {
            if let firstError { throw firstError }
            return values.map { $0! }
        }
    }
}
