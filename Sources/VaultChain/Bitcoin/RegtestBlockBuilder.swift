import VaultCore

/// Builds valid regtest blocks: real proof of work at regtest difficulty (nBits 0x207fffff: about
/// one nonce in two meets it), real merkle roots, BIP 34 heights, and for segwit blocks witness
/// transactions with the coinbase commitment. Transactions are well-formed but spend nothing real
/// (a chain check verifies structure and hashes, not scripts or the UTXO set). For the demo, tests
/// and benchmarks.
struct RegtestBlockBuilder {
    /// The regtest genesis coinbase (the same transaction as mainnet's genesis block).
    static let genesisCoinbase = Hex.decode(
        "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d"
            + "0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f"
            + "66207365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0"
            + "fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c"
            + "384df7ba0b8d578a4c702b6bf11d5fac00000000")!
    static let bits: UInt32 = 0x207fffff

    private let sha = DoubleSHA256()
    private var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    /// The regtest genesis block, byte for byte (its hash is regtest's genesis hash).
    func genesis() -> [UInt8] {
        let coinbase = Self.genesisCoinbase
        let root = coinbase.withUnsafeBytes { sha.hash($0) }
        var block = header(version: 1, prev: .zero, merkle: root, time: 1_296_688_602, nonce: 2)
        block.append(1)
        block += coinbase
        return block
    }

    /// A block at `height` on `prev` with `transactions` transactions (coinbase included) of about
    /// `payload` script bytes each; `segwit` gives every other one a witness and the coinbase a commitment.
    mutating func block(
        height: UInt64, prev: Hash32, time: UInt32, transactions: Int, payload: Int,
        segwit: Bool
    ) -> [UInt8] {
        var txs: [[UInt8]] = []
        var txids: [Hash32] = [], wtxids: [Hash32] = [.zero]
        for i in 1..<max(transactions, 1) {
            let tx = transaction(payload: payload, witness: segwit && i % 2 == 1)
            txids.append(tx.txid); wtxids.append(tx.wtxid); txs.append(tx.bytes)
        }
        var commitment: Hash32?
        if segwit {
            var pair = Self.merkle(wtxids, sha).bytes + [UInt8](repeating: 0, count: 32)  // reserved value: zeros
            commitment = pair.withUnsafeBytes { sha.hash($0) }
            pair.removeAll()
        }
        let coinbase = self.coinbase(height: height, commitment: commitment)
        txids.insert(coinbase.txid, at: 0)
        txs.insert(coinbase.bytes, at: 0)
        let root = Self.merkle(txids, sha)
        var block: [UInt8] = []
        var nonce: UInt32 = 0
        let target = CompactTarget(bits: Self.bits)!
        repeat {
            block = header(version: 0x2000_0000, prev: prev, merkle: root, time: time, nonce: nonce)
            nonce += 1
        } while !target.isMet(by: block.withUnsafeBytes { sha.hash($0) })
        Self.appendCount(txs.count, to: &block)
        for t in txs { block += t }
        return block
    }

    private func header(version: UInt32, prev: Hash32, merkle: Hash32, time: UInt32, nonce: UInt32) -> [UInt8] {
        var h: [UInt8] = []
        h.reserveCapacity(80)
        Self.append32(version, to: &h)
        h += prev.bytes
        h += merkle.bytes
        Self.append32(time, to: &h); Self.append32(Self.bits, to: &h); Self.append32(nonce, to: &h)
        return h
    }

    private mutating func coinbase(height: UInt64, commitment: Hash32?) -> (bytes: [UInt8], txid: Hash32) {
        var heightPush: [UInt8] = []
        var h = height
        repeat { heightPush.append(UInt8(h & 0xff)); h >>= 8 } while h > 0
        if heightPush.last! & 0x80 != 0 { heightPush.append(0) }
        let scriptSig = [UInt8(heightPush.count)] + heightPush + [0x51]
        var outputs: [[UInt8]] = [[0x51]]
        if let commitment { outputs.append([0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed] + commitment.bytes) }
        let witness: [[UInt8]]? = commitment == nil ? nil : [[UInt8](repeating: 0, count: 32)]
        return serialise(
            inputs: [([UInt8](repeating: 0, count: 32), 0xffff_ffff, scriptSig)], outputs: outputs,
            value: 50_0000_0000, witness: witness)
    }

    private mutating func transaction(payload: Int, witness: Bool) -> (bytes: [UInt8], txid: Hash32, wtxid: Hash32) {
        var prevout = [UInt8](repeating: 0, count: 32)
        for i in stride(from: 0, to: 32, by: 8) {
            withUnsafeBytes(of: random.next()) { prevout.replaceSubrange(i..<i + 8, with: $0) }
        }
        var script = [UInt8](repeating: 0, count: max(payload, 1))
        for i in stride(from: 0, to: script.count - 7, by: 8) {
            withUnsafeBytes(of: random.next()) { script.replaceSubrange(i..<i + 8, with: $0) }
        }
        let made = serialise(
            inputs: [(prevout, 0, witness ? [] : script)], outputs: [[0x00, 0x14] + Array(prevout[0..<20])],
            value: 1000, witness: witness ? [Array(script.prefix(72)), Array(prevout)] : nil)
        let wtxid = witness ? made.bytes.withUnsafeBytes { sha.hash($0) } : made.txid
        return (made.bytes, made.txid, wtxid)
    }

    /// Serialises a transaction (BIP 144 when `witness` is given: one stack for the first input,
    /// empty stacks for the others) and its txid over the non-witness serialisation.
    private func serialise(
        inputs: [([UInt8], UInt32, [UInt8])], outputs: [[UInt8]], value: UInt64,
        witness: [[UInt8]]?
    ) -> (bytes: [UInt8], txid: Hash32) {
        var body: [UInt8] = []
        Self.appendCount(inputs.count, to: &body)
        for (prevout, index, script) in inputs {
            body += prevout; Self.append32(index, to: &body)
            Self.appendCount(script.count, to: &body); body += script
            Self.append32(0xffff_ffff, to: &body)
        }
        Self.appendCount(outputs.count, to: &body)
        for script in outputs {
            withUnsafeBytes(of: value.littleEndian) { body += $0 }
            Self.appendCount(script.count, to: &body); body += script
        }
        let version: [UInt8] = [2, 0, 0, 0], lockTime: [UInt8] = [0, 0, 0, 0]
        let txid = (version + body + lockTime).withUnsafeBytes { sha.hash($0) }
        guard let witness else { return (version + body + lockTime, txid) }
        var w: [UInt8] = []
        for i in 0..<inputs.count {
            let stack = i == 0 ? witness : []
            Self.appendCount(stack.count, to: &w)
            for item in stack { Self.appendCount(item.count, to: &w); w += item }
        }
        return (version + [0, 1] + body + w + lockTime, txid)
    }

    static func merkle(_ leaves: [Hash32], _ sha: DoubleSHA256) -> Hash32 {
        var level = leaves
        while level.count > 1 {
            if level.count % 2 == 1 { level.append(level.last!) }
            level = stride(from: 0, to: level.count, by: 2).map { i in
                (level[i].bytes + level[i + 1].bytes).withUnsafeBytes { sha.hash($0) }
            }
        }
        return level.first ?? .zero
    }

    static func append32(_ v: UInt32, to out: inout [UInt8]) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }

    static func appendCount(_ n: Int, to out: inout [UInt8]) {
        switch n {
        case ..<0xfd: out.append(UInt8(n))
        case ...0xffff: out.append(0xfd); withUnsafeBytes(of: UInt16(n).littleEndian) { out += $0 }
        default: out.append(0xfe); append32(UInt32(n), to: &out)
        }
    }
}
