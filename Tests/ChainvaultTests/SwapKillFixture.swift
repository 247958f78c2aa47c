import Foundation
import Glibc
import Testing
import VaultCore

/// The set-up the tests of a killed staged swap share (RestoreSingleFileSwapKillTests,
/// RestoreSwapRollbackTests): a small node restored once, then changed so that the old tree and
/// the snapshot's differ (a file of other content and mtime, a file the snapshot does not have).
enum SwapKillFixture {
    static let file = "blocks/rev00000.dat"
    static let newContent = Array(repeating: UInt8(0x6E), count: 50_000)
    static let oldContent = Array("old rev".utf8)

    static func node() throws -> (Workspace, String) {
        let w = try Workspace()
        try w.write("src/" + file, newContent)
        try w.write("src/blocks/blk00000.dat", Array("blocks".utf8))
        try w.write("src/config/nodekey", Array("key".utf8), mode: 0o600)
        try w.ok(["init"])
        try w.ok(["backup", w.path("src")])
        let node = w.path("node")
        try w.ok(["restore", "latest", "--target", node])
        try w.write("node/" + file, oldContent, mode: 0o640)
        var times = [
            timespec(tv_sec: 1_600_000_000, tv_nsec: 123_456_789),
            timespec(tv_sec: 1_600_000_000, tv_nsec: 123_456_789)
        ]
        #expect(utimensat(AT_FDCWD, node + "/" + file, &times, 0) == 0)
        try w.write("node/old.txt", Array("only in the old tree".utf8))
        return (w, node)
    }

    /// Relative path ("" for the root) -> kind, mode, size, mtime in ns and content hash of every
    /// entry; `ignoringMtimeOf` directories whose mtime is not part of the claim.
    static func exact(_ root: String, ignoringMtimeOf ignored: Set<String> = []) -> [String: String] {
        var out: [String: String] = [:]
        for rel in [""] + (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []) {
            let path = rel.isEmpty ? root : root + "/" + rel
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            let kind = st.st_mode & S_IFMT
            let mtime =
                ignored.contains(rel) && kind == S_IFDIR
                ? "-"
                : "\(Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))"
            let content =
                kind == S_IFREG
                ? SHA256.hash(Array(FileManager.default.contents(atPath: path) ?? Data())).hex
                : kind == S_IFLNK ? ((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "") : ""
            out[rel] = "\(String(st.st_mode, radix: 8)):\(kind == S_IFDIR ? 0 : st.st_size):\(mtime):\(content)"
        }
        return out
    }

    static func names(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    /// chainvault's staging directories and swap notes in `dir`.
    static func swapLeftovers(_ dir: String) -> [String] {
        names(dir).filter { $0.contains(".chainvault-staging-") || $0.contains(".chainvault-swap-") }
    }

    /// The path after `prefix` up to the end of its line in `text`.
    static func pathAfter(_ prefix: String, in text: String) -> String? {
        guard let range = text.range(of: prefix) else { return nil }
        return text[range.upperBound...].split(separator: "\n", maxSplits: 1).first.map(String.init)
    }
}
