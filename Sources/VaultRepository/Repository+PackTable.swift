import VaultCore

extension Repository {
    /// A tree read through `table` rather than the in-memory index: verify and prune hold the
    /// index as a `PackTable` (every pack and copy, with marks) and load nothing twice.
    public func loadTree(_ id: BlobID, from table: PackTable, codec: BlobCodec) throws -> Tree {
        guard let location = table.lookup(id) else {
            throw VaultError(
                .missing, "blob \(id.shortHex) is not in the index",
                hint: "the repository is incomplete; run 'chainvault verify' to see what is affected")
        }
        return try Tree.decode(try readBlob(at: location, codec: codec), what: "tree \(id.shortHex)")
    }
}
