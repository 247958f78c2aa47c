import Glibc
import VaultCore
@_spi(Repository) import VaultStorage

extension Repository {
    /// Runs `body` with the one blob saver (issue 16: the only pack-writing loop): every blob that
    /// backup, copy, prune and pack repair store goes through it. When `body` returns or throws,
    /// the data packs still open are stored and indexed, then (only if `body` succeeded) the tree
    /// packs, then the last index file (FORMAT.md §10); an error of `body` is rethrown after that,
    /// so an interrupted backup leaves its complete data reusable. `workers` threads serve
    /// `BlobSaver.submit`; with 0, only `save` on the caller's thread is used.
    public func withBlobSaver(
        _ mode: BlobSaver.Mode, workers: Int = 0,
        _ body: (BlobSaver) throws -> Void
    ) throws -> BlobSaver.Summary {
        let saver = BlobSaver(repository: self, mode: mode, workers: workers)
        var failure: Error?
        do { try body(saver) } catch { failure = error }
        let finished = Result { try saver.finish(keepingTrees: failure == nil) }
        if let failure { throw failure }
        return try finished.get()
    }

    /// Makes a finished pack durable (an fsync of its spool file, which `PackWriter.finish` leaves
    /// to this step), then hands it to the backend, which gives it its name. Its index entry must
    /// be written only after this.
    @_spi(Testing) public func storePack(_ pack: FinishedPack) throws {
        try FileDescriptor.open(pack.path, O_RDONLY).closeAfter(path: pack.path) {
            try Posix.fsync($0.rawValue, path: pack.path)
        }
        try backend.writeFileIfAbsent(ObjectHandle(.pack, pack.id.hex), path: pack.path)
    }

    /// A pack writer in the store's spool directory. Only `BlobSaver` writes packs (and tests that
    /// craft them).
    @_spi(Testing) public func newPackWriter(type: BlobType) throws -> PackWriter {
        try PackWriter(master: master, type: type, directory: backend.stagingDirectory)
    }
}
