import Glibc
import VaultCore

/// A live or restored data directory as a `ChainDataSource`: files listed with readdir + fstatat,
/// read with pread. Descriptors are opened per read call and closed before it returns.
public struct DirectoryChainSource: ChainDataSource {
    public let root: String

    public init(_ root: String) { self.root = root }

    public var smallReadsAreCheap: Bool { true }

    public func files(in directory: String) throws -> [ChainFile] {
        let dir = directory.isEmpty ? root : root + "/" + directory
        guard let st = try Posix.lstat(dir), (st.st_mode & S_IFMT) == S_IFDIR else { return [] }
        var out: [ChainFile] = []
        for name in try DirectoryListing.names(dir).sorted() {
            guard let st = try Posix.lstat(dir + "/" + name), (st.st_mode & S_IFMT) == S_IFREG else { continue }
            out.append(ChainFile(path: directory.isEmpty ? name : directory + "/" + name, size: UInt64(st.st_size)))
        }
        return out
    }

    public func read(_ path: String, offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let full = root + "/" + path
        return try FileDescriptor.open(full, O_RDONLY, code: .sourceUnreadable).closeAfter(path: full) { fd in
            try Posix.pread(fd.rawValue, buffer, offset: Int(offset), path: full, code: .sourceUnreadable)
        }
    }
}
