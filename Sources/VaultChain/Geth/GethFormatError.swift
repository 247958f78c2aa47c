/// A malformed structure inside one of go-ethereum's files (snappy, RLP, e2store, freezer):
/// `offset` is relative to the buffer that was being parsed; callers add the file offset.
public struct GethFormatError: Error, Equatable, CustomStringConvertible {
    public var offset: Int
    public var what: String
    public init(_ offset: Int, _ what: String) { self.offset = offset; self.what = what }
    public var description: String { "offset \(offset): \(what)" }
}
