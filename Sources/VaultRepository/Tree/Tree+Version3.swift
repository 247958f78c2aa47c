import VaultCore

/// The part of a file node only tree format v3 holds (FORMAT.md §7): its content transform.
extension Tree {
    static func encodeTransform(_ transform: ContentTransform?, _ w: inout ByteWriter) {
        guard let transform else { return w.u8(0) }
        w.u8(1); w.raw(transform.key); w.u64(transform.length)
    }

    /// Kind 0 (none) or 1 (xor8: key, length), checked against the node: a key of zeros, an empty
    /// or too long range, or a zero run inside the range (a restore would leave those bytes zero
    /// instead of XORing them) is refused.
    static func decodeTransform(_ r: inout ByteReader, _ node: Node, what: String) throws -> ContentTransform? {
        let kind = try r.u8()
        if kind == 0 { return nil }
        guard kind == 1 else { throw VaultError(.corrupt, "\(what) has an unknown content transform \(kind)") }
        let key = try r.raw(8), length = try r.u64()
        guard let transform = ContentTransform(xor8: key, length: length), length <= node.size else {
            throw VaultError(
                .corrupt,
                "\(what) has an xor8 transform with a zero key or a range of \(length) "
                    + "outside its \(node.size) bytes")
        }
        if let run = node.zeroRuns.first, run.offset < length {
            throw VaultError(
                .corrupt,
                "\(what) has a zero run at \(run.offset) inside its xor8 range of \(length) bytes")
        }
        return transform
    }
}
