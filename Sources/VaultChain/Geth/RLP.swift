/// Bounded decoder for Ethereum's RLP (Yellow Paper appendix B): every item's header is checked
/// against the bytes that remain before its payload is looked at, and non-canonical encodings
/// (a single byte < 0x80 wrapped as a string, long forms for short payloads, leading zeros in
/// lengths) are refused, as geth refuses them. Items are views into the caller's buffer.
public struct RLPItem: Equatable {
    public var isList: Bool
    /// Where the item's header starts, where its payload starts, and its payload's length.
    public var start: Int, payload: Int, length: Int
    public var end: Int { payload + length }
}

public enum RLP {
    /// The item whose header is at `at`, which must end at or before `limit`.
    public static func item(_ buf: UnsafeRawBufferPointer, at: Int, limit: Int) throws -> RLPItem {
        guard at < limit, limit <= buf.count else { throw GethFormatError(at, "rlp item missing") }
        let b = buf[at]
        switch b {
        case 0..<0x80:
            return RLPItem(isList: false, start: at, payload: at, length: 1)
        case 0x80...0xb7, 0xc0...0xf7:
            let list = b >= 0xc0
            let length = Int(b - (list ? 0xc0 : 0x80))
            guard length <= limit - at - 1 else { throw GethFormatError(at, "rlp item runs past its container") }
            if !list, length == 1, buf[at + 1] < 0x80 { throw GethFormatError(at, "rlp single byte is not canonical") }
            return RLPItem(isList: list, start: at, payload: at + 1, length: length)
        default:
            let list = b >= 0xf8
            let lengthOfLength = Int(b - (list ? 0xf7 : 0xb7))
            guard lengthOfLength <= limit - at - 1 else { throw GethFormatError(at, "rlp length cut short") }
            guard buf[at + 1] != 0 else { throw GethFormatError(at, "rlp length has a leading zero") }
            var length = 0
            for k in 0..<lengthOfLength {
                guard length < (1 << 48) else { throw GethFormatError(at, "rlp length too large") }
                length = length << 8 | Int(buf[at + 1 + k])
            }
            guard length >= 56 else { throw GethFormatError(at, "rlp long form for a short payload") }
            let payload = at + 1 + lengthOfLength
            guard length <= limit - payload else { throw GethFormatError(at, "rlp item runs past its container") }
            return RLPItem(isList: list, start: at, payload: payload, length: length)
        }
    }

    /// The items of `list`, at most `max` of them (more is an error: callers know their shapes).
    public static func children(_ buf: UnsafeRawBufferPointer, of list: RLPItem, max: Int) throws -> [RLPItem] {
        guard list.isList else { throw GethFormatError(list.start, "rlp list expected") }
        var items: [RLPItem] = []
        var at = list.payload
        while at < list.end {
            guard items.count < max else { throw GethFormatError(at, "rlp list has more than \(max) items") }
            let item = try item(buf, at: at, limit: list.end)
            items.append(item)
            at = item.end
        }
        return items
    }

    /// An unsigned integer of at most `maxBytes` bytes, big-endian without leading zeros.
    public static func uintBytes(_ buf: UnsafeRawBufferPointer, _ item: RLPItem, maxBytes: Int) throws
        -> UnsafeRawBufferPointer
    {
        guard !item.isList else { throw GethFormatError(item.start, "rlp integer expected, found a list") }
        guard item.length <= maxBytes else {
            throw GethFormatError(item.start, "rlp integer longer than \(maxBytes) bytes")
        }
        let bytes = UnsafeRawBufferPointer(rebasing: buf[item.payload..<item.end])
        guard bytes.first != 0 else { throw GethFormatError(item.start, "rlp integer has a leading zero") }
        return bytes
    }

    public static func uint64(_ buf: UnsafeRawBufferPointer, _ item: RLPItem) throws -> UInt64 {
        try uintBytes(buf, item, maxBytes: 8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Checks that `buf[range]` is exactly one well-formed RLP item tree, walking it with an
    /// explicit stack (depth is attacker-controlled; recursion would overflow).
    public static func validate(_ buf: UnsafeRawBufferPointer, from: Int = 0, to: Int? = nil) throws {
        let end = to ?? buf.count
        let top = try item(buf, at: from, limit: end)
        guard top.end == end else { throw GethFormatError(top.end, "rlp has trailing bytes") }
        var stack: [(at: Int, end: Int)] = top.isList ? [(top.payload, top.end)] : []
        while let frame = stack.popLast() {
            guard frame.at < frame.end else { continue }
            let child = try item(buf, at: frame.at, limit: frame.end)
            stack.append((child.end, frame.end))
            if child.isList { stack.append((child.payload, child.end)) }
        }
    }
}
