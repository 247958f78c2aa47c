import Foundation

/// A bounded FIFO between threads: `push` waits while full, `pop` waits while empty and returns nil
/// once the queue is closed and drained. The bound is what keeps pipeline memory constant.
public final class BlockingQueue<T>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [T] = []
    private var head = 0
    private let capacity: Int
    private var closed = false

    public init(capacity: Int) { self.capacity = max(1, capacity) }

    public func push(_ item: T) {
        condition.lock()
        while items.count - head >= capacity && !closed { condition.wait() }
        items.append(item)
        condition.broadcast()
        condition.unlock()
    }

    public func pop() -> T? {
        condition.lock()
        defer { condition.unlock() }
        while head == items.count && !closed { condition.wait() }
        guard head < items.count else { return nil }
        let item = items[head]
        head += 1
        if head > 64 && head * 2 > items.count { items.removeFirst(head); head = 0 }
        condition.broadcast()
        return item
    }

    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}

/// A fixed set of reusable byte buffers; `take` waits until one is free. Bounds memory in flight.
public final class BufferPool: @unchecked Sendable {
    private let queue: BlockingQueue<[UInt8]>

    public init(count: Int, size: Int) {
        queue = BlockingQueue(capacity: count)
        for _ in 0..<count { queue.push([UInt8](repeating: 0, count: size)) }
    }

    public func take() -> [UInt8] { queue.pop()! }
    public func give(_ buffer: [UInt8]) { queue.push(buffer) }
}

/// A flag set from a signal handler or another thread, polled at safe points.
public final class Cancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false
    public init() {}
    public var isCancelled: Bool { lock.withLock { cancelled } }
    public func cancel() { lock.withLock { cancelled = true } }

    public func check() throws {
        if isCancelled {
            throw VaultError(.interrupted, "interrupted", hint: "run the command again; work already stored is reused")
        }
    }
}
