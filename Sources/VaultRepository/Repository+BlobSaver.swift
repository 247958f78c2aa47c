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
    ///
    /// When the backend only renames the file (a local repository), its pages are dropped from the
    /// page cache once durable (they are clean then, so nothing is lost): a backup of a 2 TB node
    /// would otherwise fill the server's memory with packs nobody reads and push out what the node
    /// itself keeps cached. It is also cheaper: the kernel copies each pack into pages the last one
    /// freed instead of ever new ones (othergen.py 1 GiB, old-vs-new.sh, 5 rounds: first backup
    /// 6.35 -> 5.99 CPU-s, 3.42 -> 3.27 s; system time 1.4-3.8 -> 0.5-0.6 s per backup by hand).
    @_spi(Testing) public func storePack(_ pack: FinishedPack) throws {
        let dropPages = !backend.readsSpooledFiles
        try FileDescriptor.open(pack.path, O_RDONLY).closeAfter(path: pack.path) {
            try Posix.fsync($0.rawValue, path: pack.path)
            // Advice only: a file system that ignores it (tmpfs, whose pages are the data) is fine.
            if dropPages { _ = posix_fadvise($0.rawValue, 0, 0, POSIX_FADV_DONTNEED) }
        }
        try backend.writeFileIfAbsent(ObjectHandle(.pack, pack.id.hex), path: pack.path)
    }

    /// A pack writer in the store's spool directory. Only `BlobSaver` writes packs (and tests that
    /// craft them).
    @_spi(Testing) public func newPackWriter(type: BlobType) throws -> PackWriter {
        try PackWriter(master: master, type: type, directory: backend.stagingDirectory)
    }
}
