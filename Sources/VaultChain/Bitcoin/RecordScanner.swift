/// Walks the records of one `blk`/`rev` file from a verified offset: 4-byte network magic, LE u32
/// size, payload (and for undo files a 32-byte checksum after it). Stops at the preallocated zero
/// tail: at a record boundary, disk bytes that are zero from there to the end of the file. A record
/// cut short at the end of the active (highest-numbered) file is `.truncated` (a crash while
/// appending); anywhere else, and any bad magic or size, is `.corrupt`.
struct RecordScanner {
    let window: RecordWindow
    let magic: UInt32
    let isActive: Bool
    /// Largest payload Bitcoin Core writes: 4,000,000 bytes for a block (MAX_BLOCK_SERIALIZED_SIZE);
    /// serialised undo data is bounded by its 32 MiB MAX_SIZE.
    let maxPayload: Int
    /// Bytes after the payload that belong to the record (the undo checksum).
    let trailer: Int

    /// Calls `body(recordOffset, payload, trailer)` per complete record that starts before `limit`
    /// (nil: the end of the file); returns the offset after the last complete record and the
    /// problems that ended the walk early.
    func scan(
        from start: UInt64, to limit: UInt64? = nil,
        _ body: (UInt64, UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void
    )
        throws -> (end: UInt64, problems: [ChainProblem])
    {
        var offset = start
        let size = window.size
        let file = window.path
        let stop = min(limit ?? size, size)
        while offset < stop {
            let headerLength = Int(min(8, size - offset))
            guard let header = try window.bytes(at: offset, count: headerLength) else { break }
            if window.isRawZero(header, at: offset) {
                if try window.restIsRawZero(from: offset) { return (offset, []) }
                return (
                    offset,
                    [
                        ChainProblem(
                            .corrupt, file: file, offset: offset,
                            "zero bytes where a record should start, then data again")
                    ]
                )
            }
            if headerLength < 8 { return (offset, [cutShort(offset, "a record header")]) }
            let found = header.loadUnaligned(as: UInt32.self)
            guard UInt32(littleEndian: found) == magic else {
                return (
                    offset,
                    [
                        ChainProblem(
                            .corrupt, file: file, offset: offset,
                            "bad record magic \(Self.hex(header, 4)) (expected the network's)")
                    ]
                )
            }
            let length = Int(UInt32(littleEndian: header.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
            guard length > 0, length <= maxPayload else {
                return (
                    offset,
                    [
                        ChainProblem(
                            .corrupt, file: file, offset: offset,
                            "record size \(length) is outside 1...\(maxPayload)")
                    ]
                )
            }
            let total = 8 + length + trailer
            guard let record = try window.bytes(at: offset, count: total) else {
                return (offset, [cutShort(offset, "a record of \(total) bytes")])
            }
            try body(
                offset, UnsafeRawBufferPointer(rebasing: record[8..<(8 + length)]),
                UnsafeRawBufferPointer(rebasing: record[(8 + length)...]))
            offset += UInt64(total)
        }
        return (offset, [])
    }

    /// `start` and record starts after it about `spacing` apart, from the record headers alone (8
    /// bytes read per record): where a file can be split so that pieces are checked in parallel.
    /// It stops quietly at anything `scan` would report (a bad header, a record past the end of
    /// the file, the zero tail): the piece that reaches it reports it.
    func pieceStarts(from start: UInt64, spacing: UInt64) throws -> [UInt64] {
        var starts = [start]
        var offset = start
        while offset + 8 <= window.size {
            guard let header = try window.bytes(at: offset, count: 8), !window.isRawZero(header, at: offset),
                UInt32(littleEndian: header.loadUnaligned(as: UInt32.self)) == magic
            else { break }
            let length = Int(UInt32(littleEndian: header.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
            guard length > 0, length <= maxPayload else { break }
            let next = offset + UInt64(8 + length + trailer)
            guard next < window.size else { break }
            if next - starts.last! >= spacing { starts.append(next) }
            offset = next
        }
        return starts
    }

    private func cutShort(_ offset: UInt64, _ what: String) -> ChainProblem {
        let left = window.size - offset
        if isActive {
            return ChainProblem(
                .truncated, file: window.path, offset: offset,
                "\(what) is cut short by the end of the file (\(left) bytes left): "
                    + "the node stopped while appending")
        }
        return ChainProblem(
            .corrupt, file: window.path, offset: offset,
            "\(what) runs past the end of the file (\(left) bytes left), and this is not the active file")
    }

    static func hex(_ b: UnsafeRawBufferPointer, _ n: Int) -> String {
        let digits = Array("0123456789abcdef")
        return String((0..<min(n, b.count)).flatMap { [digits[Int(b[$0] >> 4)], digits[Int(b[$0] & 15)]] })
    }
}
