/// Where a chain check reads from: a live or restored data directory, or a snapshot streamed
/// from the repository (the engine provides that one). Paths are relative to the data
/// directory, `/`-separated; chain clients name their files in ASCII, so `String` is safe here.
public protocol ChainDataSource: Sendable {
    /// The regular files under `directory` (relative; "" is the root), not recursive, sorted by name.
    func files(in directory: String) throws -> [ChainFile]
    /// Reads up to `buffer.count` bytes at `offset`; returns the bytes read (short only at end of file).
    func read(_ path: String, offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Bytes from the start of `path` that the caller proved identical to the bytes the earlier
    /// check (the one that left the state) read, e.g. by equal chunk ids at equal offsets in a
    /// backup and its parent snapshot; nil when nothing is known (the profile then relies on its
    /// own checkpoints). A profile re-parses everything from the last record start below it.
    func unchangedPrefix(_ path: String) -> UInt64?
    /// True when a read of a few bytes costs about that (a local file), so a profile may walk
    /// record headers ahead of parsing to split a file between cores; false for a source that
    /// fetches whole chunks per read (a stored snapshot), where that walk would fetch them twice.
    var smallReadsAreCheap: Bool { get }
}

extension ChainDataSource {
    public func unchangedPrefix(_ path: String) -> UInt64? { nil }
    public var smallReadsAreCheap: Bool { false }
}

public struct ChainFile: Sendable, Equatable {
    public var path: String
    public var size: UInt64
    public init(path: String, size: UInt64) { self.path = path; self.size = size }
}
