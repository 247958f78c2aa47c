import Foundation
import Glibc
import VaultCore

/// A first backup's total for its progress line (no parent snapshot to estimate from): a walk
/// of the source on a thread of its own, concurrent with the backup, that only lists directories
/// and stats names (no file is opened), with the backup's own exclude and include rules, so the
/// sum is what the backup will count as `bytesTotal` if nothing changes meanwhile. Iterative,
/// with a `DirectoryCursor` of few descriptors; anything it cannot read is left out (it is an
/// estimate: the backup itself reports what it could not read).
final class SizeWalk: @unchecked Sendable {
    // Safe: `stopped` is read and written under `lock`; the rest is set before the thread starts.
    private let lock = NSLock()
    private var stopped = false
    private let done = DispatchSemaphore(value: 0)
    private let cursor: DirectoryCursor
    private let filter: PathPatterns
    private let include: PathPatterns
    private let rootIncluded: Bool
    private let report: @Sendable (UInt64) -> Void

    /// Descriptors besides the backup's own: the walk needs the current directory and the root.
    static let descriptorLimit = 8

    /// Starts at once; `report` is called with the total when the walk is complete (never if it is
    /// stopped first). Takes a duplicate of `root`.
    init?(
        root: Int32, display: String, filter: PathPatterns, include: PathPatterns, rootIncluded: Bool,
        report: @escaping @Sendable (UInt64) -> Void
    ) {
        let copy = dup(root)
        guard copy >= 0, let cursor = try? DirectoryCursor(rootFD: copy, display: display, limit: Self.descriptorLimit)
        else { return nil }
        self.cursor = cursor; self.filter = filter; self.include = include; self.rootIncluded = rootIncluded
        self.report = report
        let t = Thread { [self] in
            if let total = walk() { report(total) }
            done.signal()
        }
        t.name = "size-walk"
        t.start()
    }

    /// Waits for the walk to end (it has usually ended: it only stats what the backup reads).
    func finish() { done.wait(); done.signal() }

    /// Ends the walk at its next entry without a report (the backup failed or was cancelled).
    func stop() {
        lock.withLock { stopped = true }
        finish()
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    private struct Frame { let names: [[UInt8]]; var next = 0; let included: Bool }

    private func walk() -> UInt64? {
        var total: UInt64 = 0
        var stack = [Frame(names: names(), included: rootIncluded)]
        while !stack.isEmpty {
            if isStopped { return nil }
            let top = stack.count - 1
            guard stack[top].next < stack[top].names.count else {
                stack.removeLast()
                if !stack.isEmpty { cursor.leave() }
                continue
            }
            let name = stack[top].names[stack[top].next]
            stack[top].next += 1
            guard let fd = try? cursor.current() else { return nil }
            var included = stack[top].included
            // Paths are built only when a rule needs them: a path costs the depth.
            if !filter.patterns.isEmpty || !included {
                let display = FileName.display(name)
                let relative = FileName.display(cursor.relativeBytes(name))
                if !filter.patterns.isEmpty, filter.matches(relativePath: relative, name: display) { continue }
                included = included || include.matches(relativePath: relative, name: display)
            }
            guard let st = Posix.lstatAt(fd, name) else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                guard (try? cursor.enter(name)) != nil else { continue }
                stack.append(Frame(names: names(), included: included))
            case S_IFREG where included:
                total += UInt64(st.st_size)
            default:
                continue
            }
        }
        return total
    }

    private func names() -> [[UInt8]] {
        guard let fd = try? cursor.current() else { return [] }
        return (try? DirectoryListing.entries(of: fd, path: cursor.display())) ?? []
    }
}
