import Foundation
import Testing
@testable import VaultChain

/// Test support for the geth and cometbft suites: a `ChainDataSource` over a real directory and
/// the shared fixtures (`../shared/fixtures/chain` beside the repository, or
/// `$CHAINVAULT_CHAIN_FIXTURES`), copied into a temporary directory before any test touches them.
enum ChainFixtures {
    static let directory: String? = {
        if let env = ProcessInfo.processInfo.environment["CHAINVAULT_CHAIN_FIXTURES"] { return env }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let path = repo.appendingPathComponent("Tests/ChainFixtures").path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }()

    static var present: Bool { directory != nil }

    static let era1Name = "sepolia-00000-643a00f7.era1"

    static func bytes(_ name: String) throws -> [UInt8] {
        guard let dir = directory else { throw CocoaError(.fileNoSuchFile) }
        return Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name)))
    }
}

/// A fresh temporary directory, removed when the value goes away.
final class TempDir {
    let path: String
    init() {
        var template = Array((NSTemporaryDirectory() + "/chainvault-geth-XXXXXX").utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ relative: String, _ bytes: [UInt8]) throws {
        let url = URL(fileURLWithPath: path + "/" + relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
    }
}

/// Reads a directory through POSIX calls, as the engine's live source does.
struct DirectorySource: ChainDataSource {
    let root: String

    func files(in directory: String) throws -> [ChainFile] {
        let dir = directory.isEmpty ? root : root + "/" + directory
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        var out: [ChainFile] = []
        for name in names.sorted() {
            var st = stat()
            guard stat(dir + "/" + name, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            out.append(ChainFile(path: directory.isEmpty ? name : directory + "/" + name, size: UInt64(st.st_size)))
        }
        return out
    }

    func read(_ path: String, offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let fd = open(root + "/" + path, O_RDONLY)
        guard fd >= 0 else { throw POSIXError(.ENOENT) }
        defer { close(fd) }
        let n = pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
        guard n >= 0 else { throw POSIXError(.EIO) }
        return n
    }
}
