/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of snappy's framing format.
/// Not cryptographic: it only catches accidental damage. Slicing-by-8 tables keep it at several
/// hundred MB/s without SSE4.2 intrinsics, which Swift cannot reach portably.
public enum CRC32C {
    static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            t[i] = c
        }
        for k in 1..<8 {
            for i in 0..<256 { let p = t[(k - 1) * 256 + i]; t[k * 256 + i] = (p >> 8) ^ t[Int(p & 0xff)] }
        }
        return t
    }()

    public static func checksum(_ data: UnsafeRawBufferPointer) -> UInt32 {
        tables.withUnsafeBufferPointer { t in
            var crc: UInt32 = 0xFFFF_FFFF
            var i = 0
            let n = data.count
            while n - i >= 8 {
                let lo = data.loadUnaligned(fromByteOffset: i, as: UInt32.self).littleEndian ^ crc
                let hi = data.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self).littleEndian
                crc =
                    t[7 * 256 + Int(lo & 0xff)] ^ t[6 * 256 + Int((lo >> 8) & 0xff)]
                    ^ t[5 * 256 + Int((lo >> 16) & 0xff)] ^ t[4 * 256 + Int(lo >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xff)] ^ t[2 * 256 + Int((hi >> 8) & 0xff)]
                    ^ t[1 * 256 + Int((hi >> 16) & 0xff)] ^ t[Int(hi >> 24)]
                i += 8
            }
            while i < n { crc = (crc >> 8) ^ t[Int((crc ^ UInt32(data[i])) & 0xff)]; i += 1 }
            return crc ^ 0xFFFF_FFFF
        }
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { checksum($0) } }

    /// The framing format stores CRCs masked, because a CRC over data that embeds CRCs is weak
    /// (snappy framing_format.txt, section 3).
    public static func masked(_ crc: UInt32) -> UInt32 { ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8 }
}
