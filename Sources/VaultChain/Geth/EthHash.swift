/// A 32-byte value of the Ethereum data (a block hash, a root), kept as four big-endian words so
/// that comparing is cheap; `hex` prints it as geth does (lowercase, byte order of the data).
public struct EthHash: Hashable, Sendable, CustomStringConvertible {
    public var w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64
    public static let zero = EthHash(w0: 0, w1: 0, w2: 0, w3: 0)

    public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0; self.w1 = w1; self.w2 = w2; self.w3 = w3
    }

    /// Reads 32 bytes at `offset`; the caller has checked they are there.
    public init(_ buf: UnsafeRawBufferPointer, at offset: Int) {
        precondition(buf.count - offset >= 32)
        func word(_ i: Int) -> UInt64 {
            UInt64(bigEndian: buf.loadUnaligned(fromByteOffset: offset + 8 * i, as: UInt64.self))
        }
        self.init(w0: word(0), w1: word(1), w2: word(2), w3: word(3))
    }

    public init?(hex: String) {
        var bytes: [UInt8] = []
        var it = hex.utf8.makeIterator()
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48;
            case 97...102: c - 87;
            case 65...70: c - 55;
            default: nil
            }
        }
        while let hi = it.next() {
            guard let lo = it.next(), let h = nibble(hi), let l = nibble(lo) else { return nil }
            bytes.append(h << 4 | l)
        }
        guard bytes.count == 32 else { return nil }
        self = bytes.withUnsafeBytes { EthHash($0, at: 0) }
    }

    public var bytes: [UInt8] {
        var out = [UInt8](); out.reserveCapacity(32)
        for w in [w0, w1, w2, w3] { withUnsafeBytes(of: w.bigEndian) { out.append(contentsOf: $0) } }
        return out
    }

    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8](); out.reserveCapacity(64)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { hex }
}
