import Synchronization
import VaultChain
import VaultCore
import VaultRepository

/// A stored snapshot as a `ChainDataSource`: directories are the snapshot's trees, file bytes its
/// chunks, fetched from the repository and each authenticated and checked against its SHA-256 id
/// (`Repository.readBlob`) before a profile sees a byte; zero runs read as zeros. Nothing is
/// restored and nothing is written. Sizes and layouts come from storage, so every file's chunk
/// layout is checked (`chunkLayout`) before it is read. Safe to call from several threads (the
/// profiles check files in parallel): shared caches sit behind mutexes, codecs are per call.
public final class SnapshotChainSource: ChainDataSource {
    /// A codec in the pool. @unchecked: a `BlobCodec` is not thread-safe, but a pooled one is used
    /// by one thread at a time: taken out under the mutex, used by that thread alone, given back.
    private struct PooledCodec: @unchecked Sendable { let codec: BlobCodec }

    private let repository: Repository
    private let root: Tree
    private let snapshot: String
    private let directories = Mutex<[String: [String: Node]]>([:])
    private let layouts = Mutex<[String: [ChunkPlacement]]>([:])
    /// The last chunk read per file: a profile reads a file forwards in windows larger than a
    /// chunk, so the chunk at a window's edge is the only one asked for twice.
    private let lastChunk = Mutex<[String: (offset: UInt64, bytes: [UInt8])]>([:])
    private let codecs = Mutex<[PooledCodec]>([])
    private let fetched = Atomic<UInt64>(0)
    /// Files whose last chunk is kept: more than the workers that read files in parallel.
    static let cachedFiles = 4 * Parallel.cores

    /// `root` is the snapshot's root tree; `snapshot` names it in errors.
    public init(repository: Repository, root: Tree, snapshot: String) {
        self.repository = repository; self.root = root; self.snapshot = snapshot
    }

    /// Plain bytes of chunks fetched and checked so far.
    public var bytesFetched: UInt64 { fetched.load(ordering: .relaxed) }

    public func files(in directory: String) throws -> [ChainFile] {
        try entries(of: directory).compactMap { name, node in
            node.kind == .file
                ? ChainFile(path: directory.isEmpty ? name : directory + "/" + name, size: node.size) : nil
        }.sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
    }

    public func read(_ path: String, offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let placements = try layout(of: path)
        guard let size = try node(path)?.size, offset < size else { return 0 }
        let want = Int(min(UInt64(buffer.count), size - offset))
        let out = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want])
        out.initializeMemory(as: UInt8.self, repeating: 0)  // zero runs stay zero
        // The first chunk that ends after `offset`: placements are sorted by offset.
        var i = placements.partitionPoint { $0.offset <= offset }
        i = max(0, i - 1)
        let end = offset + UInt64(want)
        while i < placements.count, placements[i].offset < end {
            let p = placements[i]
            let bytes = try chunk(path, p)
            let chunkEnd = p.offset + UInt64(bytes.count)
            if chunkEnd > offset {
                let from = max(offset, p.offset), to = min(end, chunkEnd)
                bytes.withUnsafeBytes { b in
                    let src = UnsafeRawBufferPointer(rebasing: b[Int(from - p.offset)..<Int(to - p.offset)])
                    UnsafeMutableRawBufferPointer(rebasing: out[Int(from - offset)..<Int(to - offset)]).copyMemory(
                        from: src)
                }
            }
            i += 1
        }
        return want
    }

    private func chunk(_ path: String, _ p: ChunkPlacement) throws -> [UInt8] {
        if let cached = lastChunk.withLock({ $0[path] }), cached.offset == p.offset { return cached.bytes }
        let codec = codecs.withLock { $0.popLast() }?.codec ?? repository.makeCodec()
        defer { codecs.withLock { $0.append(PooledCodec(codec: codec)) } }
        var bytes = try repository.readBlob(at: p.location, codec: codec)
        // The profile reads the file as the node had it on disk: a block file's key applied again.
        if let transform = try node(path)?.transform { transform.apply(&bytes, count: bytes.count, at: p.offset) }
        fetched.add(UInt64(bytes.count), ordering: .relaxed)
        // Bounded: a mainnet node has thousands of block files, and one cached chunk (up to
        // 4 MiB) per file ever read would grow without limit; a few files are read at a time.
        lastChunk.withLock {
            if $0.count >= Self.cachedFiles && $0[path] == nil { $0.removeAll(keepingCapacity: true) }
            $0[path] = (p.offset, bytes)
        }
        return bytes
    }

    /// The file's size and sorted chunk placements (checked by `chunkLayout`), nil when the snapshot
    /// has no such file.
    func placements(of path: String) throws -> (size: UInt64, chunks: [ChunkPlacement], transform: ContentTransform?)? {
        guard let node = try node(path), node.kind == .file else { return nil }
        return (node.size, try layout(of: path), node.transform)
    }

    private func layout(of path: String) throws -> [ChunkPlacement] {
        if let known = layouts.withLock({ $0[path] }) { return known }
        guard let node = try node(path), node.kind == .file else {
            throw VaultError(.unknownSnapshot, "\(path) is not a file of snapshot \(snapshot)")
        }
        let placements = try repository.chunkLayout(of: node, path: path).sorted { $0.offset < $1.offset }
        layouts.withLock { $0[path] = placements }
        return placements
    }

    private func node(_ path: String) throws -> Node? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        let directory = parts.dropLast().joined(separator: "/")
        return try entries(of: directory)[String(parts.last ?? "")]
    }

    /// A directory's entries by name, loading the trees along its path once.
    private func entries(of directory: String) throws -> [String: Node] {
        if let known = directories.withLock({ $0[directory] }) { return known }
        let walker = TreeWalker(repository: repository, codec: repository.makeCodec())
        guard
            let tree = try walker.directory(
                at: directory.split(separator: "/"), under: root,
                find: { tree, part in
                    tree.nodes.first { $0.name == Array(part.utf8) }
                })
        else { return [:] }
        var byName: [String: Node] = [:]
        for node in tree.nodes { byName[node.nameString] = node }
        directories.withLock { $0[directory] = byName }
        return byName
    }
}

extension Array {
    /// The index of the first element for which `belongs` is false, for an array partitioned so
    /// that every element for which it is true comes first (binary search).
    func partitionPoint(_ belongs: (Element) -> Bool) -> Int {
        var low = 0, high = count
        while low < high {
            let mid = (low + high) / 2
            if belongs(self[mid]) { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
