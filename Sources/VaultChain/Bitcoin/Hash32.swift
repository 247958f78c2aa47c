import VaultCore

/// A 32-byte hash as Bitcoin Core stores it (little-endian `uint256`): four native words, cheap to
/// hash and compare. Operators read block hashes byte-reversed (`hex`), as explorers and
/// `bitcoin-cli` print them.
struct Hash32: Hashable, Sendable {
    var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0, w3: UInt64 = 0

    static let zero = Hash32()

    init() {}

    init(_ buffer: UnsafeRawBufferPointer, at offset: Int) {
        w0 = buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        w1 = buffer.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)
        w2 = buffer.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self)
        w3 = buffer.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self)
    }

    /// From the display form (big-endian hex), as chain parameters and explorers write it.
    init?(displayHex: String) {
        guard let bytes = Hex.decode(displayHex), bytes.count == 32 else { return nil }
        self = Array(bytes.reversed()).withUnsafeBytes { Hash32($0, at: 0) }
    }

    /// The bytes in storage order.
    var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBytes { o in
            o.storeBytes(of: w0, toByteOffset: 0, as: UInt64.self)
            o.storeBytes(of: w1, toByteOffset: 8, as: UInt64.self)
            o.storeBytes(of: w2, toByteOffset: 16, as: UInt64.self)
            o.storeBytes(of: w3, toByteOffset: 24, as: UInt64.self)
        }
        return out
    }

    var hex: String { Hex.encode(bytes.reversed()) }
}

/// SHA256d (SHA-256 twice, Bitcoin's `Hash`) through OpenSSL with one reused context per worker,
/// so hashing a transaction allocates nothing.
final class DoubleSHA256 {
    private let hasher = SHA256Hasher()
    private let first = UnsafeMutableRawBufferPointer.allocate(byteCount: 32, alignment: 8)

    deinit { first.deallocate() }

    func update(_ data: UnsafeRawBufferPointer) { hasher.update(data) }

    /// Finishes the message fed through `update` and writes SHA256d of it to `out` (32 bytes).
    func finalize(into out: UnsafeMutableRawPointer) {
        hasher.finalize(into: first.baseAddress!)
        hasher.update(UnsafeRawBufferPointer(first))
        hasher.finalize(into: out)
    }

    func hash(_ data: UnsafeRawBufferPointer) -> Hash32 {
        update(data)
        var h = Hash32()
        withUnsafeMutableBytes(of: &h) { finalize(into: $0.baseAddress!) }
        return h
    }
}
