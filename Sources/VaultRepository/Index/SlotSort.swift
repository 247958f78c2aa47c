/// An in-place sort of index slots. The standard library's sort is a merge sort that allocates a
/// scratch buffer of half the array: 24 more bytes per blob at the peak of an index load, which
/// alone would break the 64-byte budget. This is a three-way quicksort (copies of one blob fall in
/// the middle band at once) with a median-of-three pivot, an explicit stack that always defers
/// the larger side (depth ≤ log2 n) and insertion sort for short ranges.
enum SlotSort {
    static func sort(_ p: UnsafeMutablePointer<IndexSlot>, count: Int) {
        var stack: [(Int, Int)] = [(0, count)]
        while let (start, end) = stack.popLast() {
            var lo = start, hi = end
            while hi - lo > 16 {
                let mid = lo + (hi - lo) / 2
                order(p, lo, mid)
                order(p, mid, hi - 1)
                order(p, lo, mid)
                let pivot = p[mid]
                // [lo, lt) < pivot, [lt, i) == pivot, (gt, hi) > pivot.
                var lt = lo, i = lo, gt = hi - 1
                while i <= gt {
                    if IndexSlot.precedes(p[i], pivot) {
                        p.swapAt(lt, i); lt += 1; i += 1
                    } else if IndexSlot.precedes(pivot, p[i]) {
                        p.swapAt(i, gt); gt -= 1
                    } else {
                        i += 1
                    }
                }
                if lt - lo < hi - (gt + 1) {
                    stack.append((gt + 1, hi)); hi = lt
                } else {
                    stack.append((lo, lt)); lo = gt + 1
                }
            }
            insertionSort(p, lo, hi)
        }
    }

    @inline(__always)
    private static func order(_ p: UnsafeMutablePointer<IndexSlot>, _ a: Int, _ b: Int) {
        if IndexSlot.precedes(p[b], p[a]) { p.swapAt(a, b) }
    }

    private static func insertionSort(_ p: UnsafeMutablePointer<IndexSlot>, _ lo: Int, _ hi: Int) {
        guard hi - lo > 1 else { return }
        for i in (lo + 1)..<hi {
            let x = p[i]
            var j = i
            while j > lo, IndexSlot.precedes(x, p[j - 1]) { p[j] = p[j - 1]; j -= 1 }
            p[j] = x
        }
    }
}

private extension UnsafeMutablePointer where Pointee == IndexSlot {
    @inline(__always)
    func swapAt(_ a: Int, _ b: Int) { let t = self[a]; self[a] = self[b]; self[b] = t }
}
