/// One table of geth's freezer (core/rawdb/freezer_table.go): an index file of 6-byte entries
/// (u16 data file number, u32 end offset, big-endian) and data files `<name>.NNNN.cdat|rdat`.
/// Entry 0 is not an item: it holds the first data file's number and, as its offset, how many
/// items were deleted from the tail. Entry j ≥ 1 ends item `tail + j - 1`; an item starts at the
/// previous entry's offset, or at 0 when its file number changed (and for the first item).
/// `.cidx` tables store snappy-block compressed items, `.ridx` tables raw ones.
public struct FreezerIndex {
    public struct Entry: Equatable { public var file: UInt16; public var end: UInt32 }

    public var name: String
    /// Relative path of the index file; data files are beside it.
    public var indexPath: String
    public var compressed: Bool
    public var entries: [Entry]
    /// Items deleted from the tail (entry 0's offset): the first item's number.
    public var tail: UInt64 { UInt64(entries.first?.end ?? 0) }
    public var count: Int { max(0, entries.count - 1) }
    public var head: UInt64 { tail + UInt64(count) }

    public func dataPath(_ file: UInt16) -> String {
        let dir = indexPath.split(separator: "/").dropLast().joined(separator: "/")
        let number = String(file)
        return dir + "/" + name + "." + String(repeating: "0", count: max(0, 4 - number.count)) + number
            + (compressed ? ".cdat" : ".rdat")
    }

    /// Item j (0-based from the tail): its data file and byte range.
    public func location(_ j: Int) -> (file: UInt16, start: UInt64, end: UInt64) {
        let e = entries[j + 1], p = entries[j]
        let start = j == 0 || p.file != e.file ? 0 : UInt64(p.end)
        return (e.file, start, UInt64(e.end))
    }

    /// Decodes the index bytes; `dataSizes` gives each data file's size (missing = absent).
    /// Returns the index and the problems of its structure (the entries up to the first bad one
    /// are kept, so the items before a damage are still checked).
    public static func parse(
        name: String, path: String, compressed: Bool, bytes: UnsafeRawBufferPointer,
        dataSizes: [UInt16: UInt64]
    ) -> (FreezerIndex, [GethFormatError]) {
        var index = FreezerIndex(name: name, indexPath: path, compressed: compressed, entries: [])
        var problems: [GethFormatError] = []
        if bytes.count % 6 != 0 {
            problems.append(GethFormatError(bytes.count / 6 * 6, "index ends in a partial entry"))
        }
        let n = bytes.count / 6
        index.entries.reserveCapacity(n)
        for j in 0..<n {
            let e = Entry(
                file: UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 6 * j, as: UInt16.self)),
                end: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 6 * j + 2, as: UInt32.self)))
            if j > 0 {
                let p = index.entries[j - 1]
                let ok = e.file == p.file ? (j == 1 || e.end >= p.end) : e.file == p.file &+ 1
                guard ok else {
                    let what = "index entry \(j) (file \(e.file), offset \(e.end)) goes backwards"
                    problems.append(GethFormatError(6 * j, what))
                    break
                }
                guard let size = dataSizes[e.file] else {
                    let what = "index entry \(j) names data file \(e.file), which is missing"
                    problems.append(GethFormatError(6 * j, what))
                    break
                }
                guard UInt64(e.end) <= size else {
                    let what = "index entry \(j) ends at \(e.end), past data file \(e.file)'s \(size) bytes"
                    problems.append(GethFormatError(6 * j, what))
                    break
                }
            }
            index.entries.append(e)
        }
        return (index, problems)
    }
}

/// A table's `.meta` file: RLP `[version, virtualTail]`, or `[version, virtualTail, flushOffset]`
/// from freezer table version 2 on: index bytes past `flushOffset` may not have reached the disk
/// before a crash, and geth repairs them on start, so damage there is tolerated.
public struct FreezerMeta: Equatable {
    public var version: UInt64
    public var virtualTail: UInt64
    public var flushOffset: UInt64?

    public init(rlp buf: UnsafeRawBufferPointer) throws {
        let top = try RLP.item(buf, at: 0, limit: buf.count)
        let fields = try RLP.children(buf, of: top, max: 8)
        guard fields.count >= 2 else { throw GethFormatError(0, "meta has \(fields.count) fields, fewer than 2") }
        version = try RLP.uint64(buf, fields[0])
        virtualTail = try RLP.uint64(buf, fields[1])
        flushOffset = fields.count >= 3 ? try RLP.uint64(buf, fields[2]) : nil
    }
}
