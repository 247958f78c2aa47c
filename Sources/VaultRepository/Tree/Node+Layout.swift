/// Where a file's chunks go: they fill, in order, every byte that no zero run covers.
extension Node {
    /// The offset of each chunk, given their raw lengths (from the index); nil when chunks and zero
    /// runs do not tile exactly `size` bytes (a chunk would overlap a run, or the sum is wrong).
    /// A restore must refuse such a file (FORMAT.md §7).
    public func chunkOffsets(rawLengths: [UInt64]) -> [UInt64]? {
        var offsets: [UInt64] = []
        offsets.reserveCapacity(rawLengths.count)
        var cursor: UInt64 = 0
        var r = 0
        for length in rawLengths {
            while r < zeroRuns.count && zeroRuns[r].offset == cursor { cursor += zeroRuns[r].length; r += 1 }
            let (end, overflow) = cursor.addingReportingOverflow(length)
            if overflow || end > size || (r < zeroRuns.count && end > zeroRuns[r].offset) { return nil }
            offsets.append(cursor)
            cursor = end
        }
        while r < zeroRuns.count && zeroRuns[r].offset == cursor { cursor += zeroRuns[r].length; r += 1 }
        return r == zeroRuns.count && cursor == size ? offsets : nil
    }
}
