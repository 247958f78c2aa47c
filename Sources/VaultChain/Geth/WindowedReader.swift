/// Sequential reads of small records (freezer items) from a `ChainDataSource` through a window
/// of at least 1 MiB, so that checking millions of items costs thousands of reads, not millions.
struct WindowedReader {
    static let window = 1 << 20
    let source: ChainDataSource
    var path = ""
    var start: UInt64 = 0
    var buffer: [UInt8] = []
    var valid = 0
    private(set) var bytesRead: UInt64 = 0

    init(source: ChainDataSource) { self.source = source }

    /// Calls `body` with bytes [from, to) of `file`; throws when the file is shorter.
    mutating func with<R>(
        _ file: String, from: UInt64, to: UInt64,
        _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R {
        let length = Int(to - from)
        if file != path || from < start || to > start + UInt64(valid) {
            let want = max(Self.window, length)
            if buffer.count < want { buffer = [UInt8](repeating: 0, count: want) }
            path = file; start = from; valid = 0
            var b = buffer
            buffer = []
            defer { buffer = b }
            while valid < want {
                let n = try b.withUnsafeMutableBytes { p in
                    try source.read(
                        file, offset: from + UInt64(valid),
                        into: UnsafeMutableRawBufferPointer(rebasing: p[valid..<want]))
                }
                if n <= 0 { break }
                valid += n
            }
            bytesRead += UInt64(valid)
        }
        guard to <= start + UInt64(valid) else {
            throw GethFormatError(Int(from), "data file \(file) ends before \(to)")
        }
        let lo = Int(from - start)
        return try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[lo..<lo + length])) }
    }
}
