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

/// SHA256d (SHA-256 twice, Bitcoin's `Hash`) with one reused context per worker: through OpenSSL's
/// low-level SHA-256 (`LowLevelSHA256`), else through EVP. Hashing a transaction allocates nothing.
final class DoubleSHA256 {
    private let functions = LowLevelSHA256.functions
    private let context = UnsafeMutableRawPointer.allocate(byteCount: LowLevelSHA256.contextSize, alignment: 16)
    private let first = UnsafeMutablePointer<UInt8>.allocate(capacity: 32)
    private lazy var evp = SHA256Hasher()

    deinit { context.deallocate(); first.deallocate() }

    func hash(_ data: UnsafeRawBufferPointer) -> Hash32 { hash(data, .init(start: nil, count: 0)) }

    /// SHA256d of the pieces one after the other (a segwit txid skips the marker and witnesses).
    func hash(
        _ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer,
        _ c: UnsafeRawBufferPointer = .init(start: nil, count: 0)
    ) -> Hash32 {
        var h = Hash32()
        withUnsafeMutableBytes(of: &h) { digest(a, b, c, into: $0.baseAddress!) }
        return h
    }

    /// One merkle level in place over 32-byte nodes: node i = SHA256d(node 2i ‖ node 2i+1) for i in
    /// 0..<pairs. Node i is written only after its two children were hashed in, and over nodes no
    /// later i reads.
    func merkleLevel(_ nodes: UnsafeMutableRawPointer, pairs: Int) {
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        for i in 0..<pairs {
            digest(UnsafeRawBufferPointer(start: nodes + 64 * i, count: 64), empty, empty, into: nodes + 32 * i)
        }
    }

    /// Writes SHA256d(a ‖ b ‖ c) to `out` (32 bytes), after every input byte was read.
    private func digest(
        _ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, _ c: UnsafeRawBufferPointer,
        into out: UnsafeMutableRawPointer
    ) {
        guard let f = functions else {
            evp.update(a); evp.update(b); evp.update(c)
            evp.finalize(into: first)
            evp.update(UnsafeRawBufferPointer(start: first, count: 32))
            evp.finalize(into: out)
            return
        }
        _ = f.initialize(context)
        if a.count > 0 { _ = f.update(context, a.baseAddress, a.count) }
        if b.count > 0 { _ = f.update(context, b.baseAddress, b.count) }
        if c.count > 0 { _ = f.update(context, c.baseAddress, c.count) }
        _ = f.final(first, context)
        _ = f.initialize(context)
        _ = f.update(context, first, 32)
        _ = f.final(out.assumingMemoryBound(to: UInt8.self), context)
    }
}
