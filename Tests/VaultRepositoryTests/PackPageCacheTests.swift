import VaultTestSupport
import Foundation
import Glibc
import Testing
import VaultCore
@_spi(Testing) import VaultRepository
@_spi(Repository) import VaultStorage

/// A local repository's packs leave the page cache once they are durable: a backup of a node
/// would otherwise fill the server's memory with packs nobody reads (pushing out the node's own
/// cached data), and the kernel's copies into ever new pages cost a first backup 1-3 s per GiB.
@Suite struct PackPageCacheTests {
    /// Whether this file system drops a durable file's pages when advised to (tmpfs cannot: its
    /// pages are its data). Asked of a probe file, so the test runs wherever it can tell.
    static let dropsPages: Bool = {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = root + "/probe"
        guard FileManager.default.createFile(atPath: path, contents: Data(count: 1 << 20)),
            let fd = try? FileDescriptor.open(path, O_RDONLY)
        else { return false }
        fsync(fd.rawValue)
        posix_fadvise(fd.rawValue, 0, 0, POSIX_FADV_DONTNEED)
        return (try? residentPages(path).resident) == 0
    }()

    /// Pages of `path` in memory, by mincore(2) over a mapping that touches none of them.
    static func residentPages(_ path: String) throws -> (resident: Int, total: Int) {
        let fd = try FileDescriptor.open(path, O_RDONLY)
        let size = try Posix.fstat(fd.rawValue, path: path).st_size
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let pages = (Int(size) + page - 1) / page
        guard let map = mmap(nil, Int(size), PROT_READ, MAP_SHARED, fd.rawValue, 0), map != MAP_FAILED else {
            throw VaultError(.failure, "mmap \(path) failed")
        }
        defer { munmap(map, Int(size)) }
        var vector = [UInt8](repeating: 0, count: pages)
        guard mincore(map, Int(size), &vector) == 0 else { throw VaultError(.failure, "mincore \(path) failed") }
        return (vector.reduce(0) { $0 + Int($1 & 1) }, pages)
    }

    @Test(.enabled(if: dropsPages, "the temporary directory's file system keeps pages it is advised to drop (tmpfs)"))
    func packsOfALocalRepositoryAreDroppedFromThePageCacheOnceDurable() throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let repo = try BlobSaverTests.smallPackRepository(on: LocalBackend(path: root + "/repo"))
        // Incompressible, so each 1 MiB pack holds 1 MiB of pages.
        let blobs = (0..<12).map { _ in SecureRandom.bytes(300_000) }
        _ = try repo.withBlobSaver(.adding(indexEvery: 1)) { saver in
            for blob in blobs { try BlobSaverTests.save(saver, .data, blob) }
        }
        let packs = try repo.listPacks()
        #expect(packs.count >= 3)
        var resident = 0, total = 0
        let data = URL(fileURLWithPath: root + "/repo/data")
        for case let url as URL in FileManager.default.enumerator(at: data, includingPropertiesForKeys: nil)!
        where !url.hasDirectoryPath {
            let (r, t) = try Self.residentPages(url.path)
            resident += r
            total += t
        }
        #expect(total >= 3 * 256)
        // All were resident before; a page the kernel could not drop at once (held for a moment
        // elsewhere) is allowed, as the advice does not promise more.
        #expect(resident * 10 <= total, "\(resident) of \(total) pack pages are still in the page cache")
        // Dropped from memory, not lost: every blob reads back from the disk.
        let codec = BlobCodec(level: 3)
        for blob in blobs { #expect(try repo.readBlob(SHA256.hash(blob), codec: codec) == blob) }
    }
}
