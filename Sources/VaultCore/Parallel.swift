import Dispatch
import Foundation

public enum Parallel {
    /// The number of workers for CPU-bound stages: the cores we have.
    public static var cores: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Maps `items` on up to `workers` threads, keeping order; rethrows the first error.
    public static func map<T, R>(_ items: [T], workers: Int = Parallel.cores, _ body: (T) throws -> R) throws -> [R] {
        if items.isEmpty { return [] }
        var results = [R?](repeating: nil, count: items.count)
        var firstError: Error?
        let lock = NSLock()
        var next = 0
        results.withUnsafeMutableBufferPointer { out in
            let slots = out
            DispatchQueue.concurrentPerform(iterations: min(workers, items.count)) { _ in
                while true {
                    let i: Int = lock.withLock {
                        if firstError != nil || next >= items.count { return -1 }
                        defer { next += 1 }
                        return next
                    }
                    if i < 0 { return }
                    do { slots[i] = try body(items[i]) } catch { lock.withLock { if firstError == nil { firstError = error } } }
                }
            }
        }
        if let firstError { throw firstError }
        return results.map { $0! }
    }
}
