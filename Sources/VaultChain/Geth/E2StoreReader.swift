/// Reads e2store entries (type u16 LE, length u32 LE, reserved u16 = 0, then the value: the
/// container of era1 files, ethereum/e2store-format-specs) from a `ChainDataSource`. Nothing
/// read is trusted: a length is checked against the file's size and a cap before any buffer is
/// sized by it. The value buffer is reused from entry to entry.
public struct E2StoreReader {
    public struct Header: Equatable {
        public var type: UInt16
        public var length: Int
        /// File offset of the entry's header; the value starts 8 bytes later.
        public var offset: UInt64
        public var end: UInt64 { offset + 8 + UInt64(length) }
    }

    /// No era1 entry comes near this (a block's receipts are a few MiB); larger is damage.
    public static let maxValue = 64 << 20

    let source: ChainDataSource
    public let path: String
    public let size: UInt64
    var value: [UInt8] = []
    /// Bytes read from the source, for the report's throughput figure.
    public private(set) var bytesRead: UInt64 = 0

    public init(source: ChainDataSource, path: String, size: UInt64) {
        self.source = source; self.path = path; self.size = size
    }

    /// The header at `offset`; throws `GethFormatError` (file offsets) when it is not a valid one.
    public mutating func header(at offset: UInt64) throws -> Header {
        guard offset <= size, size - offset >= 8 else {
            throw GethFormatError(Int(offset), "e2store entry header cut short")
        }
        var raw = (UInt64(0))
        let n = try withUnsafeMutableBytes(of: &raw) { try readFully(at: offset, into: $0) }
        guard n == 8 else { throw GethFormatError(Int(offset), "e2store entry header cut short") }
        let type = UInt16(truncatingIfNeeded: UInt64(littleEndian: raw))
        let length = UInt32(truncatingIfNeeded: UInt64(littleEndian: raw) >> 16)
        let reserved = UInt16(truncatingIfNeeded: UInt64(littleEndian: raw) >> 48)
        guard reserved == 0 else { throw GethFormatError(Int(offset), "e2store reserved field is \(reserved), not 0") }
        guard UInt64(length) <= size - offset - 8 else {
            throw GethFormatError(Int(offset), "e2store entry of \(length) bytes runs past the end of the file")
        }
        guard Int(length) <= Self.maxValue else {
            throw GethFormatError(Int(offset), "e2store entry of \(length) bytes is too large")
        }
        return Header(type: type, length: Int(length), offset: offset)
    }

    /// Reads the entry's value and passes it to `body` (valid only inside it).
    public mutating func withValue<R>(_ h: Header, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        if value.count < h.length { value = [UInt8](repeating: 0, count: max(h.length, value.count * 2)) }
        let length = h.length
        var buffer = value
        value = []
        defer { value = buffer }
        let n = try buffer.withUnsafeMutableBytes {
            try readFully(at: h.offset + 8, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<length]))
        }
        guard n == length else {
            throw GethFormatError(Int(h.offset), "e2store entry value cut short (file changed while read)")
        }
        return try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
    }

    mutating func readFully(at offset: UInt64, into buf: UnsafeMutableRawBufferPointer) throws -> Int {
        var done = 0
        while done < buf.count {
            let n = try source.read(
                path, offset: offset + UInt64(done),
                into: UnsafeMutableRawBufferPointer(rebasing: buf[done...]))
            if n <= 0 { break }
            done += n
        }
        bytesRead += UInt64(done)
        return done
    }
}
