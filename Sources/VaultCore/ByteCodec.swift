/// Little-endian binary writer for the format's binary structures (pack headers, index, trees).
public struct ByteWriter {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 256) { bytes = []; bytes.reserveCapacity(capacity) }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    public mutating func digest(_ d: SHA256Digest) { d.append(to: &bytes) }
    public mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }
    public mutating func raw(_ b: UnsafeRawBufferPointer) { bytes.append(contentsOf: b) }

    /// u16 length then the bytes; strings longer than 65535 bytes are a programmer error here,
    /// callers check (file names are at most 255 bytes on Linux).
    public mutating func shortBytes(_ b: [UInt8]) { precondition(b.count <= 0xFFFF); u16(UInt16(b.count)); raw(b) }
    public mutating func longBytes(_ b: [UInt8]) { u32(UInt32(b.count)); raw(b) }
}

/// Bounds-checked little-endian reader: every read past the end throws, so a truncated or hostile
/// structure becomes an error, never a crash.
public struct ByteReader {
    private let bytes: [UInt8]
    public private(set) var offset: Int
    private let what: String

    public init(_ bytes: [UInt8], what: String) { self.bytes = bytes; self.offset = 0; self.what = what }

    public var remaining: Int { bytes.count - offset }
    public var atEnd: Bool { offset == bytes.count }

    private mutating func take(_ n: Int) throws -> Int {
        guard n >= 0, remaining >= n else {
            throw VaultError(.corrupt, "\(what) is truncated at byte \(offset) (wanted \(n) more, have \(remaining))")
        }
        defer { offset += n }
        return offset
    }

    private mutating func load<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let at = try take(MemoryLayout<T>.size)
        return bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: T.self)) }
    }

    public mutating func u8() throws -> UInt8 { try load(UInt8.self) }
    public mutating func u16() throws -> UInt16 { try load(UInt16.self) }
    public mutating func u32() throws -> UInt32 { try load(UInt32.self) }
    public mutating func u64() throws -> UInt64 { try load(UInt64.self) }
    public mutating func i64() throws -> Int64 { Int64(bitPattern: try u64()) }

    public mutating func digest() throws -> SHA256Digest {
        let at = try take(32)
        return bytes.withUnsafeBytes { SHA256Digest($0, at: at) }
    }

    public mutating func raw(_ n: Int) throws -> [UInt8] { let at = try take(n); return Array(bytes[at..<at + n]) }
    public mutating func shortBytes() throws -> [UInt8] { try raw(Int(try u16())) }
    public mutating func longBytes() throws -> [UInt8] { try raw(Int(try u32())) }

    public func expectEnd() throws {
        guard atEnd else { throw VaultError(.corrupt, "\(what) has \(remaining) unexpected trailing bytes") }
    }
}
