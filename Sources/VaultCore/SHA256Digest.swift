/// A 32-byte SHA-256 value stored as four big-endian words, so that hashing and equality are cheap
/// and `<` is the order of the bytes (the canonical order of ids in the format).
public struct SHA256Digest: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    public static let byteCount = 32
    public static let zero = SHA256Digest(w0: 0, w1: 0, w2: 0, w3: 0)

    public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0; self.w1 = w1; self.w2 = w2; self.w3 = w3
    }

    /// Reads 32 bytes at `offset`; the caller guarantees they are there.
    public init(_ buffer: UnsafeRawBufferPointer, at offset: Int = 0) {
        precondition(buffer.count - offset >= 32)
        func word(_ i: Int) -> UInt64 {
            UInt64(bigEndian: buffer.loadUnaligned(fromByteOffset: offset + i * 8, as: UInt64.self))
        }
        self.init(w0: word(0), w1: word(1), w2: word(2), w3: word(3))
    }

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 32)
        self = bytes.withUnsafeBytes { SHA256Digest($0) }
    }

    public init?(hex: String) {
        guard let bytes = Hex.decode(hex), bytes.count == 32 else { return nil }
        self.init(bytes: bytes)
    }

    public func append(to out: inout [UInt8]) {
        for w in [w0, w1, w2, w3] { withUnsafeBytes(of: w.bigEndian) { out.append(contentsOf: $0) } }
    }

    public var bytes: [UInt8] { var out: [UInt8] = []; out.reserveCapacity(32); append(to: &out); return out }
    public var hex: String { Hex.encode(bytes) }
    public var shortHex: String { String(hex.prefix(8)) }
    public var description: String { hex }

    public static func < (a: SHA256Digest, b: SHA256Digest) -> Bool {
        (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3)
    }
}

/// In JSON a digest is its 64 lowercase hex digits (a snapshot's `tree`); any other text is damage.
extension SHA256Digest: Codable {
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard text.utf8.count == 64, let digest = SHA256Digest(hex: text), digest.hex == text else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "not a 64-digit hex SHA-256: \(text.prefix(70))")
        }
        self = digest
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var chars = [UInt8](); chars.reserveCapacity(bytes.count * 2)
        for b in bytes { chars.append(digits[Int(b >> 4)]); chars.append(digits[Int(b & 15)]) }
        return String(decoding: chars, as: UTF8.self)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var out = [UInt8](); out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let hi = nibble(utf8[i]), let lo = nibble(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo); i += 2
        }
        return out
    }
}
