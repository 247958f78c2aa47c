import Foundation
import Testing
import VaultCore
import VaultRepository
import VaultStorage

/// Issue 17, "Index memory": a command that loads the index holds it in at most 64 bytes per blob
/// (a hash table of objects took ~258), measured as the peak resident set of the built binary.
struct IndexMemoryTests {
    static let plantedBlobs = 800_000

    /// Index files for `count` blobs in packs that do not exist (no command here reads them):
    /// 16,000 blobs a pack and a file, as a backup of small files writes them (at most 16,384 a file).
    /// `packFiles`: also a sparse file for each planted pack, as long as its entries reach, so
    /// that verify's structure check and prune find every indexed pack where the index says.
    func plantIndex(_ w: Workspace, blobs count: Int, packFiles: Bool = false) throws {
        var key = Array(FileManager.default.contents(atPath: w.key)!)
        let repo = try Repository.open(LocalBackend(path: w.repo), credential: .keyFile(SecretBytes(consuming: &key)))
        var state: UInt64 = 64
        func next() -> UInt64 {  // SplitMix64: ids as uniform as SHA-256's, and reproducible
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        func digest() -> SHA256Digest { SHA256Digest(w0: next(), w1: next(), w2: next(), w3: next()) }
        var made = 0
        while made < count {
            var packs: [IndexedPack] = []
            for _ in 0..<1 where made < count {
                let n = min(16_000, count - made)
                let entries = (0..<n).map { i in
                    PackEntry(
                        type: .data, compression: .zstd, id: digest(), offset: UInt64(i) * 600, storedLength: 500,
                        rawLength: 600)
                }
                let pack = IndexedPack(id: PackID(digest()), salt: Array(repeating: 7, count: 32), entries: entries)
                packs.append(pack)
                made += n
                if packFiles {
                    let dir = w.repo + "/data/" + pack.id.hex.prefix(2)
                    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                    let fd = open(dir + "/" + pack.id.hex, O_WRONLY | O_CREAT | O_EXCL, 0o600)
                    #expect(fd >= 0 && ftruncate(fd, off_t(n * 600 + 500)) == 0)
                    close(fd)
                }
            }
            try repo.writeIndex(IndexFile(packs: packs))
        }
    }

    /// Peak RSS of a restore and of an (unchanged) backup, before and after 800,000 more blobs are
    /// indexed: the difference over the blob count is what each blob costs. Old code: 325-336 bytes.
    @Test func restoreAndBackupHoldEachIndexedBlobInAtMost64Bytes() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        var run = 0
        func peaks() throws -> [Int] {
            try [["restore", "latest", "--target", w.path("out")], ["backup", src]].map { args in
                run += 1
                let args = args.map { $0 == w.path("out") ? w.path("out-\(run)") : $0 }
                let (code, stderr, peakKiB) = try HostileStorageTests().runMeasured(w, args)
                #expect(code == 0, "\(args): \(stderr)")
                return peakKiB
            }
        }
        let before = try peaks()
        try plantIndex(w, blobs: Self.plantedBlobs)
        let after = try peaks()
        for (step, (b, a)) in zip(["restore", "backup"], zip(before, after)) {
            let perBlob = Double(a - b) * 1024 / Double(Self.plantedBlobs)
            print("\(step): peak \(b) KiB -> \(a) KiB, \(Int(perBlob)) bytes per indexed blob")
            #expect(perBlob <= 64, "\(step): \(perBlob) bytes per blob (peak \(b) KiB -> \(a) KiB)")
        }
    }

    /// Verify (structure) and prune (its plan: a dry run reads and marks everything a real run
    /// does) hold the index as a pack table: before it, verify took ~520 bytes a blob (a dictionary
    /// of packs with their entries, the shared index, sets of ids) and prune ~300.
    @Test func verifyAndPruneHoldEachIndexedBlobInAtMost64Bytes() throws {
        let w = try Workspace()
        let src = try w.makeSourceTree()
        try w.ok(["init"])
        try w.ok(["backup", src])
        func peaks() throws -> [Int] {
            try [["verify"], ["forget", "--keep-last", "1", "--prune", "--dry-run"]].map { args in
                let (code, stderr, peakKiB) = try HostileStorageTests().runMeasured(w, args)
                #expect(code == 0, "\(args): \(stderr)")
                return peakKiB
            }
        }
        let before = try peaks()
        try plantIndex(w, blobs: Self.plantedBlobs, packFiles: true)
        let after = try peaks()
        for (step, (b, a)) in zip(["verify", "prune"], zip(before, after)) {
            let perBlob = Double(a - b) * 1024 / Double(Self.plantedBlobs)
            print("\(step): peak \(b) KiB -> \(a) KiB, \(Int(perBlob)) bytes per indexed blob")
            #expect(perBlob <= 64, "\(step): \(perBlob) bytes per blob (peak \(b) KiB -> \(a) KiB)")
        }
    }
}
