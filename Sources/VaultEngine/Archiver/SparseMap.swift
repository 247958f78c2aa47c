import Glibc
import VaultCore
import VaultRepository

/// The layout of a file on disk: data ranges to read, and zero ranges that need not be (holes, and
/// preallocated space never written). The map only saves work: data ranges may hold zeros, and
/// the reader turns all-zero chunks into zero runs too.
struct SparseMap {
    enum Segment: Equatable {
        case data(UInt64, UInt64)
        case zeros(ZeroRun)
    }

    private(set) var segments: [Segment] = []

    /// Holes shorter than this are read as data: tiny holes would only cut chunks short.
    static let minimumHole: UInt64 = 64 << 10
    /// At most this many holes are recorded per file (the rest is read as data), which bounds the
    /// tree (FORMAT.md §7 allows 2^20 zero runs; all-zero chunks may add some).
    static let maximumHoles = 1 << 16

    /// Walks `fd` with SEEK_DATA/SEEK_HOLE up to `size`. A file system without them reports the
    /// whole file as data (the kernel then answers SEEK_HOLE with the size). A file with as many
    /// blocks as bytes (nearly every file) has no hole: it costs no system call here. Preallocated
    /// space in such a file is read, and comes back as allocated zero runs from its all-zero chunks.
    init(fd: Int32, size: UInt64, allocatedBytes: UInt64) {
        if allocatedBytes >= size {
            if size > 0 { segments = [.data(0, size)] }
            return
        }
        let unwritten = Fiemap.unwrittenExtents(fd: fd)
        var position: UInt64 = 0
        var holes = 0
        while position < size {
            let dataAt = lseek(fd, off_t(position), Posix.seekData)
            // ENXIO: nothing but a hole up to the end. Any other failure: read the rest.
            let data = dataAt < 0 ? (errno == ENXIO ? size : position) : min(UInt64(dataAt), size)
            if data - position >= Self.minimumHole && holes < Self.maximumHoles {
                addZeros(position, data, unwritten: unwritten)
                holes += 1
            } else if data > position {
                addData(position, data)
            }
            if data >= size { break }
            let holeAt = lseek(fd, off_t(data), Posix.seekHole)
            let end = holeAt < 0 ? size : min(max(UInt64(holeAt), data + 1), size)
            addData(data, end)
            position = end
        }
    }

    private mutating func addData(_ start: UInt64, _ end: UInt64) {
        if case .data(let s, _)? = segments.last {
            segments[segments.count - 1] = .data(s, end)
        } else {
            segments.append(.data(start, end))
        }
    }

    /// A hole, split where the file system has unwritten (preallocated) extents in it.
    private mutating func addZeros(_ start: UInt64, _ end: UInt64, unwritten: [Range<UInt64>]) {
        var cursor = start
        for extent in unwritten where extent.upperBound > cursor && extent.lowerBound < end {
            let from = max(extent.lowerBound, cursor), to = min(extent.upperBound, end)
            if from > cursor {
                segments.append(.zeros(ZeroRun(offset: cursor, length: from - cursor, allocated: false)))
            }
            segments.append(.zeros(ZeroRun(offset: from, length: to - from, allocated: true)))
            cursor = to
        }
        if end > cursor { segments.append(.zeros(ZeroRun(offset: cursor, length: end - cursor, allocated: false))) }
    }
}

/// Appends a zero run, merging it with the previous one when they touch and agree.
func appendZeroRun(_ run: ZeroRun, to runs: inout [ZeroRun]) {
    if let last = runs.last, last.end == run.offset, last.allocated == run.allocated {
        runs[runs.count - 1].length += run.length
    } else {
        runs.append(run)
    }
}

/// True when every byte is zero; reads words, and stops at the first non-zero one (most chunks end there).
func isAllZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return true }
    if bytes[0] != 0 || bytes[bytes.count - 1] != 0 { return false }
    let words = bytes.count / 8
    for i in 0..<words where base.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) != 0 {
        return false
    }
    for i in (words * 8)..<bytes.count where bytes[i] != 0 { return false }
    return true
}
