import VaultCore

/// Per-worker state for turning plaintext blobs into sealed ones and back: reused GCM and zstd
/// contexts and scratch buffers. Not thread-safe; one per thread.
public final class BlobCodec {
    let gcm = AESGCM()
    let compressor: ZstdCompressor
    let decompressor = ZstdDecompressor()
    var scratch: [UInt8] = []
    var sample: [UInt8] = []

    public init(level: Int32) { compressor = ZstdCompressor(level: level) }

    /// The most plaintext a data blob may claim: the chunker's largest allowed maximum chunk size
    /// (`ChunkerParameters.validate`, 64 MiB), whatever this repository's chunker uses, so a blob
    /// copied from a repository with larger chunks still opens.
    public static let maxDataBlob = 64 << 20
    /// The most plaintext a tree blob may claim: the tree writer refuses a directory whose
    /// encoding is larger (`Tree.maxEncodedSize`).
    public static let maxTreeBlob = Tree.maxEncodedSize

    /// Below this a blob is always given to zstd at the configured level (cheap, and trees and
    /// small files often shrink).
    static let alwaysTryBelow = 64 << 10
    static let sampleSize = 16 << 10

    /// Chooses the zstd level for a chunk from a 16 KiB sample taken from its middle:
    /// - the configured level when level 3 shrinks the sample at least 0.1% more than level 1
    ///   (logs, text, JSON, undo data);
    /// - level 1 when the sample shrinks by 1/16 at level 1 and level 3 does no better: on mixed
    ///   data such as block files level 3 then gives the same ratio at a third of the speed;
    /// - the configured level for the whole chunk when the sample does not shrink by 1/16. Up to
    ///   session 6 such a chunk was stored raw, which lost 3-7 % on freezer and table files whose
    ///   repetition lies outside the sample or beyond level 1's reach (bytes-by-type.py, FORMAT.md
    ///   "Compression"); zstd passes through truly random data at about half the cost of SHA-256,
    ///   so trying costs little where it cannot pay;
    /// - both levels, keeping the smaller, when the sample shrinks to less than half at level 1:
    ///   there the sample does not predict the chunk (a long match beyond it, a shorter minimum
    ///   match that costs more than it saves), and whole chunks went either way by 5-35 % on the
    ///   benchmark data and 3 % on the Sepolia era1 fixture, whose three chunks the sample
    ///   misjudged (bytes-by-type.py "both"); such data compresses fast, so the second pass is cheap.
    ///
    /// Whichever level, the literals (bytes no match covers) are Huffman-coded only where that
    /// saves more than 1/128 of the sample at level 1 (`ZstdCompressor.literalsPay`): on block
    /// files, tables and era1 files they are hashes, signatures and compressed data, which zstd
    /// tried to code and then stored raw. Measured on 1 MiB pieces (Tests/Benchmarks/literals.py):
    /// othergen.py 1 GiB -14.5 to -18 % compression CPU for +0.018 % bytes, our generator's 1 GiB -11 %
    /// with the same bytes, the chain fixtures the same bytes; undo files and logs keep their coding.
    @_spi(Testing) public func chooseLevel(_ p: UnsafeRawBufferPointer) -> (
        level: Int32, alsoTry: Int32?, literals: Bool
    ) {
        let configured = compressor.level
        if p.count < Self.alwaysTryBelow || configured <= 1 { return (configured, nil, true) }
        let start = (p.count / 2) & ~4095
        let piece = UnsafeRawBufferPointer(rebasing: p[start..<min(start + Self.sampleSize, p.count)])
        let fast = compressor.compress(piece, into: &sample, level: 1)
        let literals = compressor.literalsPay(piece, fast: fast, into: &sample)
        if fast >= piece.count - piece.count / 16 { return (configured, nil, literals) }
        if fast < piece.count / 2 { return (configured, 1, literals) }
        let strong = compressor.compress(piece, into: &sample, level: configured)
        return (strong < fast - fast / 1024 ? configured : 1, nil, literals)
    }

    /// zstd output is kept when it saves at least 1/256 of the chunk: below that the frame would
    /// cost a decompression for almost nothing (and a raw chunk is decrypted straight into place).
    static let keepSavingAtLeast = 256

    /// Seals `plaintext` as the blob at `offset` of a pack and hands the sealed bytes to `emit` (in
    /// one or two pieces). `plaintext` is overwritten: a raw blob is encrypted in place, so the hot
    /// path holds no second buffer the size of a chunk.
    func seal(
        type: BlobType, id: BlobID, plaintext: UnsafeMutableRawBufferPointer, key: UnsafeRawBufferPointer,
        offset: UInt64, emit: (UnsafeRawBufferPointer) throws -> Void
    ) rethrows -> PackEntry {
        var compression = Compression.none
        var payloadCount = plaintext.count
        let choice = chooseLevel(UnsafeRawBufferPointer(plaintext))
        var n = compressor.compress(
            UnsafeRawBufferPointer(plaintext), into: &scratch, level: choice.level, literals: choice.literals)
        if let other = choice.alsoTry {
            // `sample` serves as the second output (it only grows, like `scratch`); the smaller wins.
            let m = compressor.compress(
                UnsafeRawBufferPointer(plaintext), into: &sample, level: other, literals: choice.literals)
            if m < n { swap(&scratch, &sample); n = m }
        }
        if n < plaintext.count - plaintext.count / Self.keepSavingAtLeast {
            compression = .zstd
            payloadCount = n
        }
        let entry = PackEntry(
            type: type, compression: compression, id: id, offset: offset,
            storedLength: UInt32(payloadCount + AESGCM.tagSize), rawLength: UInt32(plaintext.count))
        let nonce = AESGCM.nonce(counter: offset)
        let tag: [UInt8] = try entry.aad.withUnsafeBytes { a in
            if compression == .zstd {
                return try scratch.withUnsafeMutableBytes { s in
                    let payload = UnsafeMutableRawBufferPointer(rebasing: s[0..<payloadCount])
                    let tag = gcm.sealInPlace(key: key, nonce: nonce, aad: a, buffer: payload)
                    try emit(UnsafeRawBufferPointer(payload))
                    return tag
                }
            }
            let tag = gcm.sealInPlace(key: key, nonce: nonce, aad: a, buffer: plaintext)
            try emit(UnsafeRawBufferPointer(plaintext))
            return tag
        }
        try tag.withUnsafeBytes { try emit($0) }
        return entry
    }

    /// Opens a sealed blob, decompresses it and checks its SHA-256 against its id. Every byte read
    /// back from a repository goes through here.
    public func open(
        _ sealed: UnsafeRawBufferPointer, entry: PackEntry, key: UnsafeRawBufferPointer,
        pack: String
    ) throws -> [UInt8] {
        var plain: [UInt8] = []
        _ = try open(sealed, entry: entry, key: key, pack: pack, into: &plain)
        return plain
    }

    /// `open` into `out`, which the caller keeps from blob to blob: its first `rawLength` bytes are
    /// the checked plaintext (the returned count); it only grows, so a worker that restores
    /// thousands of chunks allocates its buffers once. Nothing in `out` may be used on a throw.
    public func open(
        _ sealed: UnsafeRawBufferPointer, entry: PackEntry, key: UnsafeRawBufferPointer,
        pack: String, into out: inout [UInt8]
    ) throws -> Int {
        let raw = Int(entry.rawLength)
        // The lengths are not authenticated (only type, compression and id are): bound them by the
        // type before any buffer is sized from them, so a forged entry cannot cost gigabytes.
        let limit = entry.type == .data ? Self.maxDataBlob : Self.maxTreeBlob
        guard raw <= limit else {
            throw VaultError(
                .corrupt,
                "\(entry.type.name) blob \(entry.id.shortHex) in pack \(pack.prefix(8)) claims \(raw) "
                    + "bytes, more than a \(entry.type.name) blob can hold (\(limit))",
                hint: "the index entry or pack header is damaged or forged; run 'chainvault verify --read-data'")
        }
        guard sealed.count >= AESGCM.tagSize, sealed.count <= limit + AESGCM.tagSize else {
            throw authenticationFailure(entry, pack)
        }
        let bodyCount = sealed.count - AESGCM.tagSize
        let nonce = AESGCM.nonce(counter: entry.offset)
        // A raw blob's payload is its plaintext: decrypted straight into `out`. Anything else (and
        // a raw blob whose lengths disagree, which then fails its hash check as before) goes
        // through the scratch buffer.
        let direct = entry.compression == .none && bodyCount == raw
        let ok: Bool = entry.aad.withUnsafeBytes { a in
            if direct {
                Self.grow(&out, to: raw)
                return out.withUnsafeMutableBytes { o in
                    gcm.open(
                        key: key, nonce: nonce, aad: a, sealed: sealed,
                        into: UnsafeMutableRawBufferPointer(rebasing: o[0..<raw]))
                }
            }
            Self.grow(&scratch, to: bodyCount)
            return scratch.withUnsafeMutableBytes { s in
                gcm.open(
                    key: key, nonce: nonce, aad: a, sealed: sealed,
                    into: UnsafeMutableRawBufferPointer(rebasing: s[0..<bodyCount]))
            }
        }
        guard ok else { throw authenticationFailure(entry, pack) }
        switch entry.compression {
        case .none where !direct:
            throw hashMismatch(entry, pack)
        case .none:
            break
        case .zstd:
            Self.grow(&out, to: raw)
            let decompressed = scratch.withUnsafeBytes { s in
                out.withUnsafeMutableBytes { o in
                    decompressor.decompress(
                        UnsafeRawBufferPointer(rebasing: s[0..<bodyCount]),
                        into: UnsafeMutableRawBufferPointer(rebasing: o[0..<raw]))
                }
            }
            guard decompressed else {
                throw VaultError(
                    .corrupt, "blob \(entry.id.shortHex) in pack \(pack.prefix(8)) does not decompress to \(raw) bytes")
            }
        }
        guard out.withUnsafeBytes({ SHA256.hash(UnsafeRawBufferPointer(rebasing: $0[0..<raw])) }) == entry.id else {
            throw hashMismatch(entry, pack)
        }
        return raw
    }

    private func hashMismatch(_ entry: PackEntry, _ pack: String) -> VaultError {
        VaultError(
            .corrupt, "blob \(entry.id.shortHex) in pack \(pack.prefix(8)) does not match its SHA-256",
            hint: "run 'chainvault verify --read-data' to see what is affected")
    }

    private func authenticationFailure(_ entry: PackEntry, _ pack: String) -> VaultError {
        VaultError(
            .corrupt, "\(entry.type.name) blob \(entry.id.shortHex) in pack \(pack.prefix(8)) failed authentication",
            hint: "the pack is damaged or was altered; run 'chainvault verify --read-data' to see what is affected")
    }

    /// Grows (never shrinks) a reused buffer; what it held is not kept (every caller overwrites it).
    private static func grow(_ buffer: inout [UInt8], to count: Int) {
        if buffer.count < count { buffer = [UInt8](repeating: 0, count: count) }
    }

    // MARK: Pack subkeys

    /// The subkeys of the packs this worker read last, so a pack's key is derived once for all its
    /// blobs instead of once per blob (restore reads a pack's chunks one after another).
    /// Each entry holds its master key, so an entry can only ever match the key it was derived from.
    private var subkeys: [(master: SecretBytes, salt: [UInt8], key: SecretBytes)] = []
    static let subkeysKept = 16

    public func subkey(master: SecretBytes, salt: [UInt8]) -> SecretBytes {
        if let hit = subkeys.first(where: { $0.master === master && $0.salt == salt }) { return hit.key }
        let key = PackFormat.subkey(master: master, salt: salt)
        if subkeys.count == Self.subkeysKept { subkeys.removeFirst() }
        subkeys.append((master, salt, key))
        subkeyDerivations += 1
        return key
    }

    /// How many subkeys this codec derived (tests prove a pack's key is derived once).
    public private(set) var subkeyDerivations = 0
}
