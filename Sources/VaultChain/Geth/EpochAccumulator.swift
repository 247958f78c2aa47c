import VaultCore

/// The era1 accumulator: the SSZ hash_tree_root of `List[HeaderRecord, 8192]` where
/// `HeaderRecord = {block_hash: Bytes32, total_difficulty: uint256}` (go-ethereum
/// internal/era/accumulator.go; SSZ merkleisation from ethereum/consensus-specs
/// ssz/simple-serialize.md): each record's root is SHA-256(hash ‖ td as 32 LE bytes), the
/// records are merkleised as a tree of 8192 leaves padded with zero subtrees, and the list's
/// length is mixed in as SHA-256(root ‖ length as 32 LE bytes). Pure SHA-256: no keccak needed.
public enum EpochAccumulator {
    public static let maxRecords = 8192
    static let depth = 13  // 2^13 = 8192 leaves

    public static func root(hashes: [EthHash], difficulties: [UInt256]) -> EthHash {
        precondition(hashes.count == difficulties.count && hashes.count <= maxRecords)
        var layer: [EthHash] = []
        layer.reserveCapacity(hashes.count)
        var pair = [UInt8](); pair.reserveCapacity(64)
        for i in hashes.indices {
            pair.removeAll(keepingCapacity: true)
            pair.append(contentsOf: hashes[i].bytes)
            difficulties[i].appendLittleEndian(to: &pair)
            layer.append(sha(pair))
        }
        // zero[k] is the root of an all-zero subtree of height k.
        var zero = EthHash.zero
        for _ in 0..<depth {
            if layer.count % 2 == 1 { layer.append(zero) }
            var next: [EthHash] = []
            next.reserveCapacity(layer.count / 2)
            var i = 0
            while i < layer.count { next.append(combine(layer[i], layer[i + 1])); i += 2 }
            layer = next
            zero = combine(zero, zero)
        }
        let tree = layer.first ?? zero
        pair.removeAll(keepingCapacity: true)
        pair.append(contentsOf: tree.bytes)
        withUnsafeBytes(of: UInt64(hashes.count).littleEndian) { pair.append(contentsOf: $0) }
        pair.append(contentsOf: repeatElement(0, count: 24))
        return sha(pair)
    }

    static func combine(_ a: EthHash, _ b: EthHash) -> EthHash { sha(a.bytes + b.bytes) }

    static func sha(_ bytes: [UInt8]) -> EthHash {
        let d = SHA256.hash(bytes)
        return EthHash(w0: d.w0, w1: d.w1, w2: d.w2, w3: d.w3)
    }
}
