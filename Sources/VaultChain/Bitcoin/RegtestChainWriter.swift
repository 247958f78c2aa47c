import Glibc
import VaultCore

/// Writes a valid regtest chain into a Bitcoin Core `blocks/` directory the way the node does:
/// records (magic, size, block) appended to `blk?????.dat`, each block's undo record (magic, size,
/// CBlockUndo, SHA256d(parent hash ‖ CBlockUndo)) to the `rev?????.dat` of the same number, a new
/// file pair when a block file would pass `maxFileSize`, everything XORed with `xor.dat`'s key at
/// its file offset, and optionally the active files preallocated with raw zeros (16 MiB blk, 1 MiB
/// rev steps, as Bitcoin Core does). The undo payloads have the right shape (one entry per
/// non-coinbase transaction) but describe no real coins.
public final class RegtestChainWriter {
    public struct Location: Sendable { public var file: String; public var offset: UInt64; public var size: Int }

    public let directory: String
    public let key: [UInt8]
    public let maxFileSize: Int
    public let preallocate: Bool
    /// Blocks up to this height are already on disk (an earlier run, same seed): rebuilt to carry
    /// the chain on, not written again, so old bytes and mtimes stay as a node leaves them.
    public let existingHeight: UInt64?
    public private(set) var height: UInt64 = 0
    public private(set) var tipHash: String = ""
    /// Where each block's record starts (index = height), paths relative to `directory`.
    public private(set) var blocks: [Location] = []
    /// Where each block's undo record starts (height 1 on; index = height - 1).
    public private(set) var undo: [Location] = []

    private var builder: RegtestBlockBuilder
    private var tip = Hash32.zero
    private var fileNumber = 0
    private var blkEnd = 0, revEnd = 0
    private let sha = DoubleSHA256()
    private static let magic: [UInt8] = [0xfa, 0xbf, 0xb5, 0xda]

    /// `key` nil: no xor.dat (Bitcoin Core before v28). `existingHeight`: see the property.
    public init(
        directory: String, key: [UInt8]?, seed: UInt64 = 1, maxFileSize: Int = 128 << 20,
        preallocate: Bool = false, existingHeight: UInt64? = nil
    ) throws {
        self.directory = directory
        self.existingHeight = existingHeight
        self.key = key ?? [UInt8](repeating: 0, count: 8)
        self.maxFileSize = maxFileSize
        self.preallocate = preallocate
        builder = RegtestBlockBuilder(seed: seed)
        try Posix.mkdirs(directory)
        if let key, existingHeight == nil {
            try key.withUnsafeBytes { try Posix.writeFileAtomically(directory + "/xor.dat", $0) }
        }
        let genesis = builder.genesis()
        tip = genesis.prefix(80).withUnsafeBytes { sha.hash($0) }
        tipHash = tip.hex
        try write(block: genesis, undo: nil)
    }

    /// Appends `count` blocks of `transactions` transactions with about `payload` script bytes each;
    /// every `segwitEvery`-th block (0: none) carries witness transactions and a commitment.
    public func append(_ count: Int, transactions: Int = 3, payload: Int = 200, segwitEvery: Int = 2) throws {
        for _ in 0..<count {
            let h = height + 1
            let segwit = segwitEvery > 0 && h % UInt64(segwitEvery) == 0
            let block = builder.block(
                height: h, prev: tip, time: 1_296_688_602 + UInt32(h) * 600,
                transactions: transactions, payload: payload, segwit: segwit)
            var undoBytes: [UInt8] = []
            RegtestBlockBuilder.appendCount(transactions - 1, to: &undoBytes)
            for i in 0..<(transactions - 1) {
                undoBytes += [1, UInt8(truncatingIfNeeded: h) | 1, UInt8(i & 0x7f), 0x00]
            }
            let parent = tip
            tip = block.prefix(80).withUnsafeBytes { sha.hash($0) }
            height = h
            tipHash = tip.hex
            var preimage = parent.bytes + undoBytes
            let checksum = preimage.withUnsafeBytes { sha.hash($0) }
            preimage.removeAll()
            try write(block: block, undo: undoBytes + checksum.bytes)
        }
    }

    private func write(block: [UInt8], undo: [UInt8]?) throws {
        if blkEnd > 0 && blkEnd + 8 + block.count > maxFileSize { fileNumber += 1; blkEnd = 0; revEnd = 0 }
        let name = String(fileNumber)
        let digits = String(repeating: "0", count: max(0, 5 - name.count)) + name
        let blk = "blk\(digits).dat", rev = "rev\(digits).dat"
        blocks.append(Location(file: blk, offset: UInt64(blkEnd), size: 8 + block.count))
        blkEnd = try appendRecord(blk, at: blkEnd, block, step: 16 << 20)
        if let undo {
            let payload = undo.count - 32
            self.undo.append(Location(file: rev, offset: UInt64(revEnd), size: 8 + undo.count))
            revEnd = try appendRecord(rev, at: revEnd, undo, step: 1 << 20, payloadSize: payload)
        } else if revEnd == 0 {
            try appendRaw(rev, at: 0, [], step: 1 << 20)
        }
    }

    private func appendRecord(
        _ file: String, at offset: Int, _ payload: [UInt8], step: Int,
        payloadSize: Int? = nil
    ) throws -> Int {
        var record = Self.magic
        RegtestBlockBuilder.append32(UInt32(payloadSize ?? payload.count), to: &record)
        record += payload
        try appendRaw(file, at: offset, record, step: step)
        return offset + record.count
    }

    private func appendRaw(_ file: String, at offset: Int, _ plain: [UInt8], step: Int) throws {
        if let existingHeight, height <= existingHeight { return }
        var disk = plain
        for i in 0..<disk.count { disk[i] ^= key[(offset + i) % 8] }
        let path = directory + "/" + file
        let fd = try Posix.open(path, O_WRONLY | O_CREAT)
        defer { Posix.close(fd) }
        try disk.withUnsafeBytes { try Posix.pwriteAll(fd, $0, offset: offset, path: path) }
        if preallocate {
            let end = offset + disk.count
            let size = try Posix.fileSize(fd, path: path)
            if size < end || size == 0 || size % step != 0 {
                _ = ftruncate(fd, off_t((end + step - 1) / step * step))
            }
        }
    }
}
