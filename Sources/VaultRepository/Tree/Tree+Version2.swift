import VaultCore

/// The parts of a node only tree format v2 holds (FORMAT.md §7): zero runs of files and extended
/// attributes of every node. Everything is bounded before anything is allocated for it.
extension Tree {
    /// Zero runs per file: a file with more holes than this is read as data past the limit (the
    /// archiver's `SparseMap` stops there), so an honest tree never needs more.
    static let maxZeroRuns = 1 << 20

    static func encodeZeroRuns(_ runs: [ZeroRun], _ w: inout ByteWriter) {
        w.u32(UInt32(runs.count))
        for run in runs {
            w.u64(run.offset); w.u64(run.length); w.u8(run.allocated ? 1 : 0)
        }
    }

    static func decodeZeroRuns(_ r: inout ByteReader, size: UInt64, what: String) throws -> [ZeroRun] {
        let count = Int(try r.u32())
        guard count <= maxZeroRuns, count <= r.remaining / 17 else {
            throw VaultError(.corrupt, "\(what) claims \(count) zero runs")
        }
        var runs: [ZeroRun] = []
        runs.reserveCapacity(count)
        var end: UInt64 = 0
        for _ in 0..<count {
            let offset = try r.u64(), length = try r.u64(), flags = try r.u8()
            // Sorted, not overlapping, not empty, inside the file; no flag but bit 0.
            guard length > 0, offset >= end, flags <= 1, length <= size, offset <= size - length else {
                throw VaultError(
                    .corrupt,
                    "\(what) has a zero run \(offset)+\(length) that is empty, unsorted or outside its \(size) bytes")
            }
            runs.append(ZeroRun(offset: offset, length: length, allocated: flags == 1))
            end = offset + length
        }
        return runs
    }

    static func encodeXattrs(_ xattrs: [ExtendedAttribute], _ w: inout ByteWriter) {
        w.u16(UInt16(xattrs.count))
        for x in xattrs {
            w.u8(UInt8(x.name.count)); w.raw(x.name)
            w.longBytes(x.value)
        }
    }

    static func decodeXattrs(_ r: inout ByteReader, what: String) throws -> [ExtendedAttribute] {
        let count = Int(try r.u16())
        // Each needs at least a 1-byte name, its length byte and a 4-byte value length.
        guard count <= r.remaining / 6 else {
            throw VaultError(.corrupt, "\(what) claims \(count) extended attributes")
        }
        var xattrs: [ExtendedAttribute] = []
        xattrs.reserveCapacity(count)
        var listBytes = 0
        for _ in 0..<count {
            let name = try r.raw(Int(try r.u8()))
            let length = Int(try r.u32())
            guard !name.isEmpty, !name.contains(0), name.contains(46), length <= ExtendedAttribute.maxValue else {
                throw VaultError(.corrupt, "\(what) has an extended attribute with a bad name or a value over 64 KiB")
            }
            listBytes += name.count + 1
            guard listBytes <= ExtendedAttribute.maxList else {
                throw VaultError(.corrupt, "\(what) has more extended attribute names than Linux allows (64 KiB)")
            }
            if let previous = xattrs.last, !previous.name.lexicographicallyPrecedes(name) {
                throw VaultError(.corrupt, "\(what) extended attributes are not sorted or repeat a name")
            }
            xattrs.append(ExtendedAttribute(name: name, value: try r.raw(length)))
        }
        return xattrs
    }
}
