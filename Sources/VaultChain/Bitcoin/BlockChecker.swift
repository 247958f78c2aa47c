/// What the chain walk needs from one block, and what (if anything) is wrong with it.
struct BlockSummary: Sendable {
    var hash: Hash32
    var prev: Hash32
    var bits: UInt32
    var txCount: Int
}

/// Checks one block the way Bitcoin Core's `CheckBlock` does for data at rest: header hash
/// (SHA256d of the 80-byte header), proof of work against the target its nBits claims (and nBits
/// no easier than the network's limit), the merkle root over the txids (non-witness
/// serialisation), and for blocks with witness data the coinbase's witness commitment (BIP 141).
/// One instance per worker: its txid buffers are reused from block to block.
final class BlockChecker {
    private let sha = DoubleSHA256()
    private var txids: [Hash32] = []
    private var wtxids: [Hash32] = []
    private let powLimit: CompactTarget

    init(network: BitcoinNetwork) { powLimit = CompactTarget(bits: network.powLimitBits)! }

    /// nil summary when not even a header is there; a failure names the first check that failed.
    func check(_ block: UnsafeRawBufferPointer) -> (summary: BlockSummary?, failure: String?) {
        guard block.count >= 80 else {
            return (nil, "block of \(block.count) bytes is shorter than its 80-byte header")
        }
        let header = UnsafeRawBufferPointer(rebasing: block[0..<80])
        let hash = sha.hash(header)
        let bits = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 72, as: UInt32.self))
        var summary = BlockSummary(hash: hash, prev: Hash32(block, at: 4), bits: bits, txCount: 0)
        guard let target = CompactTarget(bits: bits) else {
            return (summary, "nBits 0x\(String(bits, radix: 16)) is not a valid target")
        }
        guard target <= powLimit else {
            return (summary, "nBits 0x\(String(bits, radix: 16)) is easier than the network allows")
        }
        guard target.isMet(by: hash) else { return (summary, "proof of work: the header hash is above its target") }
        // The id buffers are worked on as locals (moved out, so still unique, and back): every
        // access to a class's stored array costs a dynamic exclusivity check (~2 % of a check).
        var txids = self.txids, wtxids = self.wtxids
        self.txids = []; self.wtxids = []
        defer { self.txids = txids; self.wtxids = wtxids }
        do {
            let result = try parseTransactions(block, &txids, &wtxids)
            summary.txCount = txids.count
            if let failure = result { return (summary, failure) }
        } catch {
            return (summary, "a transaction runs past the end of the block")
        }
        let root = merkleRoot(&txids)
        if root != Hash32(block, at: 36) {
            return (summary, "merkle root mismatch: the transactions do not match the header")
        }
        return (summary, nil)
    }

    /// Fills `txids`/`wtxids`; returns a failure for a block that parses but breaks a rule.
    private func parseTransactions(
        _ block: UnsafeRawBufferPointer, _ txids: inout [Hash32],
        _ wtxids: inout [Hash32]
    ) throws -> String? {
        var c = ByteCursor(block, at: 80)
        let n = try c.count()
        guard n > 0 else { return "block has no transactions" }
        txids.removeAll(keepingCapacity: true)
        wtxids.removeAll(keepingCapacity: true)
        var hasWitness = false
        var commitment: Int?  // offset of the 32-byte commitment in the coinbase output
        var reserved: Int?  // offset of the coinbase's 32-byte witness reserved value
        for i in 0..<n {
            let start = c.position
            try c.skip(4)
            let segwit = c.peek(0) == 0 && c.peek(1) == 1
            if segwit { try c.skip(2) }
            let bodyStart = c.position
            let inputs = try c.count()
            if segwit && inputs == 0 { return "transaction \(i) has a witness flag but no inputs" }
            for _ in 0..<inputs { try c.skip(36); try c.skip(try c.count()); try c.skip(4) }
            let outputs = try c.count()
            for _ in 0..<outputs {
                try c.skip(8)
                let length = try c.count()
                if i == 0 && length >= 38 && Self.isCommitment(block, at: c.position) { commitment = c.position + 6 }
                try c.skip(length)
            }
            let bodyEnd = c.position
            if segwit {
                for input in 0..<inputs {
                    let items = try c.count()
                    for item in 0..<items {
                        let length = try c.count()
                        if i == 0 && input == 0 && items == 1 && item == 0 && length == 32 { reserved = c.position }
                        try c.skip(length)
                    }
                }
                hasWitness = true
            }
            try c.skip(4)
            let txid: Hash32
            if segwit {
                txid = sha.hash(
                    c.slice(start, start + 4), c.slice(bodyStart, bodyEnd),
                    c.slice(c.position - 4, c.position))
                wtxids.append(i == 0 ? .zero : sha.hash(c.slice(start, c.position)))
            } else {
                txid = sha.hash(c.slice(start, c.position))
                wtxids.append(i == 0 ? .zero : txid)
            }
            txids.append(txid)
        }
        if c.remaining != 0 { return "\(c.remaining) bytes after the last transaction" }
        guard hasWitness else { return nil }
        guard let commitment else { return "witness data without a witness commitment in the coinbase" }
        guard let reserved else { return "coinbase witness reserved value missing" }
        var witnessRoot = merkleRoot(&wtxids)
        let reservedValue = UnsafeRawBufferPointer(rebasing: block[reserved..<reserved + 32])
        let expected = withUnsafeBytes(of: &witnessRoot) { sha.hash($0, reservedValue) }
        if expected != Hash32(block, at: commitment) {
            return "witness commitment mismatch: the witness data was altered"
        }
        return nil
    }

    /// `OP_RETURN OP_PUSHBYTES_36 aa21a9ed` (BIP 141's commitment header).
    private static func isCommitment(_ b: UnsafeRawBufferPointer, at i: Int) -> Bool {
        b[i] == 0x6a && b[i + 1] == 0x24 && b[i + 2] == 0xaa && b[i + 3] == 0x21 && b[i + 4] == 0xa9 && b[i + 5] == 0xed
    }

    /// Bitcoin's merkle tree: pairs hashed with SHA256d, an odd last element paired with itself;
    /// computed in place over `leaves`.
    private func merkleRoot(_ leaves: inout [Hash32]) -> Hash32 {
        var count = leaves.count
        if count == 0 { return .zero }
        while count > 1 {
            if count % 2 == 1 {
                if leaves.count == count { leaves.append(leaves[count - 1]) } else { leaves[count] = leaves[count - 1] };
                count += 1
            }
            leaves.withUnsafeMutableBytes { sha.merkleLevel($0.baseAddress!, pairs: count / 2) }
            count /= 2
        }
        return leaves[0]
    }
}
