import Foundation
import Testing
import VaultCore

/// The power-loss model on hand-written traces: what it reads from strace, and what survives.
struct DurabilityModelTests {
    static let trace = """
        100 openat(AT_FDCWD</w>, "/r/d/.tmp-1", O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0600) = 7</r/d/.tmp-1>
        100 write(7</r/d/.tmp-1>, "ab\\0\\3777\\n"..., 9 <unfinished ...>
        101 fsync(8</r/d> <unfinished ...>
        100 <... write resumed>) = 9
        101 <... fsync resumed>) = 0
        100 write(7</r/d/.tmp-1>, "x = 1", 5) = 5
        100 fsync(7</r/d/.tmp-1>) = 0
        100 renameat2(AT_FDCWD</w>, "/r/d/.tmp-1", AT_FDCWD</w>, "/r/d/obj", RENAME_NOREPLACE) = 0
        100 unlink("/r/gone") = -1 ENOENT (No such file or directory)
        100 write(1<pipe:[5]>, "done\\n", 5) = 5
        100 +++ exited with 0 +++
        """

    @Test func readsCallsSplitAcrossThreadsAndSkipsFailuresAndOtherPaths() {
        var t = SyscallTrace(root: "/r")
        t.parse(Self.trace)
        #expect(t.effects == [
            .create("/r/d/.tmp-1", truncate: false),
            .sync("/r/d"), // taken when the fsync started, before the write completed
            .write("/r/d/.tmp-1", offset: nil, length: 9, bytes: nil), // cut at the -s limit
            .write("/r/d/.tmp-1", offset: nil, length: 5, bytes: Array("x = 1".utf8)),
            .sync("/r/d/.tmp-1"),
            .rename("/r/d/.tmp-1", "/r/d/obj", exchange: false),
        ])
        #expect(SyscallTrace.string(#""a\0\377\n\"7\1777""#)?.bytes == [97, 0, 255, 10, 34, 55, 127, 55])
    }

    /// A model of the empty tree `r` (holding `directory`, if given) after `effects`.
    func replay(_ w: Workspace, directory: String = "", _ effects: (String) -> [FileEffect]) throws -> (DurabilityModel, String) {
        for tree in ["r", "copy"] {
            try FileManager.default.createDirectory(atPath: w.path(tree + "/" + directory), withIntermediateDirectories: true)
        }
        let model = try DurabilityModel(root: w.path("r"), initialCopy: w.path("copy"))
        effects(w.path("r")).forEach(model.apply)
        return (model, w.path("r"))
    }

    /// A file synced and renamed, but its directory not synced: gone in the strict tree; the random
    /// trees hold it under one name or the other, with all its bytes.
    @Test func aRenameWithoutADirectorySyncMayBeLost() throws {
        let w = try Workspace()
        let (model, r) = try replay(w, directory: "d") { r in
            [.create(r + "/d/.tmp", truncate: false), .write(r + "/d/.tmp", offset: nil, length: 3, bytes: [1, 2, 3]),
             .sync(r + "/d/.tmp"), .rename(r + "/d/.tmp", r + "/d/obj", exchange: false)]
        }
        var rng = SplitMix64(seed: 1)
        try model.materialize(at: w.path("strict"), mode: .strict, rng: &rng, sources: [:])
        #expect(try FileManager.default.contentsOfDirectory(atPath: w.path("strict/d")).isEmpty)
        var seen = Set<[String]>()
        for i in 0..<16 {
            try model.materialize(at: w.path("random-\(i)"), mode: .random, rng: &rng, sources: [:])
            let names = try FileManager.default.contentsOfDirectory(atPath: w.path("random-\(i)/d")).sorted()
            seen.insert(names)
            for n in names { #expect(FileManager.default.contents(atPath: w.path("random-\(i)/d/\(n)")) == Data([1, 2, 3])) }
        }
        #expect(seen == [[], [".tmp"], ["obj"]])
        model.apply(.sync(r + "/d"))
        try model.materialize(at: w.path("synced"), mode: .strict, rng: &rng, sources: [:])
        #expect(FileManager.default.contents(atPath: w.path("synced/d/obj")) == Data([1, 2, 3]))
    }

    /// Data written but never fsynced is not there in the strict tree, even under a synced name.
    @Test func unsyncedBytesAreLostEvenWhenTheNameSurvives() throws {
        let w = try Workspace()
        let (model, _) = try replay(w) { r in [.create(r + "/f", truncate: false), .write(r + "/f", offset: nil, length: 2, bytes: [7, 7]), .sync(r)] }
        var rng = SplitMix64(seed: 2)
        try model.materialize(at: w.path("strict"), mode: .strict, rng: &rng, sources: [:])
        #expect(FileManager.default.contents(atPath: w.path("strict/f")) == Data())
    }
}
