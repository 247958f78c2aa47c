import VaultCore
import VaultStorage

extension Repository {
    /// Blobs per index file written by `replaceIndex`: the backup's own bound (IndexCollector), so
    /// no command ever builds one index file for the whole repository (at 10 M chunks that one
    /// file and its encodings took ~1.5 GB at once: issue 17).
    public static let maxBlobsPerIndexFile = 16384

    /// Replaces the whole index with `packs`: written as files of at most `maxBlobsPerIndexFile`
    /// blobs (a pack is never split; one larger pack gets a file of its own), the last of them
    /// naming every file in `superseding`; only then are those deleted (FORMAT.md §6, §10). Killed
    /// before the last file, readers see the old files and some new ones that repeat their
    /// entries: the same index. The packs are encoded one file at a time.
    /// `beforeDeleting` runs once the new files are durable and before any old one goes (prune
    /// lengthens the Object Lock retention of the current index files there).
    /// `superseding` holds names as listed (a stray name that is no id goes with the old files).
    /// Returns the ids of the files written.
    @discardableResult
    public func replaceIndex(
        with packs: some Sequence<IndexedPack>, superseding old: [String],
        beforeDeleting: ([IndexID]) throws -> Void = { _ in }
    ) throws -> [IndexID] {
        var written: [IndexID] = []
        var batch: [IndexedPack] = []
        var blobs = 0
        for pack in packs {
            if !batch.isEmpty, blobs + pack.entries.count > Self.maxBlobsPerIndexFile {
                written.append(try writeIndex(IndexFile(packs: batch)))
                batch = []; blobs = 0
            }
            batch.append(pack)
            blobs += pack.entries.count
        }
        // A name written here is never superseded (a file cannot name itself; fresh salts make a
        // repeat of an old file's name all but impossible, and it would then be this content).
        let writtenNames = Set(written.map(\.hex))
        let superseded = old.filter { !writtenNames.contains($0) }.compactMap { IndexID(hex: $0) }
        let last = try writeIndex(IndexFile(packs: batch, supersedes: superseded))
        written.append(last)
        try beforeDeleting(written)
        try deleteIndexFiles(named: old.filter { !writtenNames.contains($0) && $0 != last.hex })
        return written
    }
}
