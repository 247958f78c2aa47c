import Foundation
import Glibc
import Testing
import VaultCore

/// Issue 5's corruption matrix: each kind of damage is detected by `verify`, named, and restore
/// never writes wrong bytes (it fails, and no target appears).
struct CorruptionMatrixTests {
    enum Damage: String, CaseIterable, CustomTestStringConvertible {
        case packDataBitFlip, packHeaderBitFlip, packTruncated, packDeleted, packsSwapped, packDuplicated
        var testDescription: String { rawValue }
    }

    func packs(_ w: Workspace) throws -> [(path: String, size: Int)] {
        var out: [(String, Int)] = []
        for sub in try FileManager.default.contentsOfDirectory(atPath: w.repo + "/data") where !sub.hasPrefix(".") {
            for name in try FileManager.default.contentsOfDirectory(atPath: w.repo + "/data/" + sub)
            where !name.hasPrefix(".") {
                let path = w.repo + "/data/\(sub)/\(name)"
                out.append((path, (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0))
            }
        }
        return out.sorted { $0.1 > $1.1 }
    }

    func flip(_ path: String, at offset: Int) {
        let fd = open(path, O_RDWR)
        var byte: UInt8 = 0
        pread(fd, &byte, 1, off_t(offset))
        byte ^= 0x10
        pwrite(fd, &byte, 1, off_t(offset))
        close(fd)
    }

    @Test(arguments: Damage.allCases)
    func damageIsDetectedAndNeverRestored(_ damage: Damage) throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.write("src/blocks/blk00001.dat", SecureRandom.bytesForTest(2_500_000))
        try w.ok(["init"])
        try w.ok(["backup", src])
        let all = try packs(w)
        let (big, size) = all[0]
        switch damage {
        case .packDataBitFlip: flip(big, at: 5000)
        case .packHeaderBitFlip: flip(big, at: size - 20)
        case .packTruncated: truncate(big, off_t(size / 2))
        case .packDeleted: unlink(big)
        case .packsSwapped:
            let other = all[1].path
            rename(big, w.path("tmp-pack")); rename(other, big); rename(w.path("tmp-pack"), other)
        case .packDuplicated:
            // A copy of a pack under another valid-looking name: its content no longer matches it.
            let dir = (big as NSString).deletingLastPathComponent
            let name = (big as NSString).lastPathComponent
            let twin = String(name.prefix(2)) + String(repeating: "0", count: 62)
            try FileManager.default.copyItem(atPath: big, toPath: dir + "/" + twin)
        }
        let verify = try w.run(["verify", "--read-data"])
        #expect(verify.code == 14, "verify fails on \(damage): \(verify.stdout) \(verify.stderr)")
        #expect(verify.stderr.contains("pack"), "the report names the pack: \(verify.stderr)")
        switch damage {
        case .packDuplicated:
            break  // no snapshot uses the stray copy
        case .packHeaderBitFlip:
            // The header only serves to rebuild the index; every blob is read through the index and
            // still authenticates, so the restore is complete and exact.
            #expect(verify.stderr.contains("header"), "\(verify.stderr)")
            try w.ok(["restore", "latest", "--target", w.path("out")])
            #expect(try treeDifferences(src, w.path("out")).isEmpty)
        default:
            #expect(verify.stderr.contains("blk0000"), "and the affected files: \(verify.stderr)")
            let restore = try w.run(["restore", "latest", "--target", w.path("out")])
            #expect(restore.code != 0, "restore refuses \(damage)")
            #expect(!FileManager.default.fileExists(atPath: w.path("out")), "no half-restored target")
        }
    }
}

extension SecureRandom {
    static func bytesForTest(_ n: Int) -> [UInt8] { SecureRandom.bytes(n) }
}

extension CorruptionMatrixTests {
    enum MetadataDamage: String, CaseIterable, CustomTestStringConvertible {
        case indexCorrupted, indexDeleted, keyFileAltered, lockGarbage
        var testDescription: String { rawValue }
    }

    /// Damage around the data: each is reported with what to do, and the documented fix works.
    @Test(arguments: MetadataDamage.allCases)
    func metadataDamageIsReportedAndRepairable(_ damage: MetadataDamage) throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        let index =
            w.repo + "/index/"
            + (try FileManager.default.contentsOfDirectory(atPath: w.repo + "/index").first { !$0.hasPrefix(".") }!)
        switch damage {
        case .indexCorrupted, .indexDeleted:
            if damage == .indexCorrupted { flip(index, at: 40) } else { unlink(index) }
            let verify = try w.run(["verify"])
            #expect(verify.code == 14, "\(damage): \(verify.stderr)")
            if damage == .indexDeleted {
                #expect(
                    verify.stderr.contains("run 'chainvault repair index'") && verify.stderr.contains("do not prune"),
                    "\(verify.stderr)")
            } else {
                #expect(verify.stderr.contains("index"), "the damaged index file is named: \(verify.stderr)")
            }
            try w.ok(["repair", "index"])
            try w.ok(["verify", "--read-data"])
            try w.ok(["restore", "latest", "--target", w.path("out")])
            #expect(try treeDifferences(src, w.path("out")).isEmpty)
        case .keyFileAltered:
            let key =
                w.repo + "/keys/"
                + (try FileManager.default.contentsOfDirectory(atPath: w.repo + "/keys").first { !$0.hasPrefix(".") }!)
            flip(key, at: 60)
            let r = try w.run(["snapshots"])
            #expect(r.code == 11 || r.code == 14, "\(r.code): \(r.stderr)")
            #expect(r.stderr.contains("HINT"), "\(r.stderr)")
        case .lockGarbage:
            try w.write("repo/locks/" + String(repeating: "ab", count: 16), Array("\u{0}garbage{".utf8))
            let r = try w.run(["backup", src])
            #expect(
                r.code == 12 && r.stderr.contains("unreadable lock") && r.stderr.contains("unlock --remove-all"),
                "\(r.stderr)")
            try w.ok(["unlock", "--remove-all"])
            try w.ok(["backup", src])
        }
    }
}
