/// The fields of an Ethereum block header (an RLP list: parentHash, ommersHash, coinbase,
/// stateRoot, transactionsRoot, receiptsRoot, logsBloom, difficulty, number, gasLimit, gasUsed,
/// timestamp, extraData, mixHash, nonce, then fork-specific fields) that the checks use.
public struct EthHeaderFields: Equatable {
    public var parentHash: EthHash
    public var difficulty: UInt256
    public var number: UInt64

    /// Parses the header RLP that fills `buf` exactly.
    public init(rlp buf: UnsafeRawBufferPointer) throws {
        let top = try RLP.item(buf, at: 0, limit: buf.count)
        guard top.isList, top.end == buf.count else { throw GethFormatError(0, "header is not one rlp list") }
        // 15 legacy fields, up to 21 with London..Prague additions; 32 leaves room for forks to come.
        let fields = try RLP.children(buf, of: top, max: 32)
        guard fields.count >= 15 else { throw GethFormatError(0, "header has \(fields.count) fields, fewer than 15") }
        let parent = fields[0]
        guard !parent.isList, parent.length == 32 else {
            throw GethFormatError(parent.start, "header parent hash is not 32 bytes")
        }
        parentHash = EthHash(buf, at: parent.payload)
        difficulty = UInt256(bigEndian: try RLP.uintBytes(buf, fields[7], maxBytes: 32))
        number = try RLP.uint64(buf, fields[8])
    }
}
