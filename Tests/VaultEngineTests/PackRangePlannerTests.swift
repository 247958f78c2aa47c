import Testing
import VaultCore
import VaultEngine
import VaultRepository

/// The one planner of pack range reads (restore, in-place rebuild, drill; issue 16's finding that
/// the drill had a copy of the restorer's).
struct PackRangePlannerTests {
    struct Chunk: PackPlaced, Equatable {
        let name: String
        let location: BlobLocation
        static func == (a: Chunk, b: Chunk) -> Bool { a.name == b.name }
    }

    static func pack(_ n: UInt64) -> PackID { PackID(SHA256Digest(w0: n, w1: 0, w2: 0, w3: 0)) }

    static func chunk(_ name: String, pack: UInt64, at offset: UInt64, length: UInt32) -> Chunk {
        let entry = PackEntry(
            type: .data, compression: .none, id: SHA256.hash(Array(name.utf8)), offset: offset,
            storedLength: length, rawLength: length - 16)
        return Chunk(name: name, location: BlobLocation(pack: Self.pack(pack), salt: [], entry: entry))
    }

    static func names(_ groups: [[Chunk]]) -> [[String]] { groups.map { $0.map(\.name) } }

    @Test func withoutASpanEveryChunkIsItsOwnReadInFileOrder() {
        let chunks = [
            Self.chunk("a", pack: 1, at: 0, length: 100), Self.chunk("b", pack: 1, at: 100, length: 100),
            Self.chunk("c", pack: 2, at: 0, length: 100)
        ]
        #expect(Self.names(PackRangePlanner.plan(chunks, span: 0)) == [["a"], ["b"], ["c"]])
    }

    @Test func backToBackChunksOfOnePackMergeUpToTheSpan() {
        // File order a c b d e; in pack 1: a@0 b@100 c@200 (back to back), d@400 after a gap; e in pack 2.
        let chunks = [
            Self.chunk("a", pack: 1, at: 0, length: 100), Self.chunk("c", pack: 1, at: 200, length: 100),
            Self.chunk("b", pack: 1, at: 100, length: 100), Self.chunk("d", pack: 1, at: 400, length: 100),
            Self.chunk("e", pack: 2, at: 300, length: 100)
        ]
        #expect(Self.names(PackRangePlanner.plan(chunks, span: 1000)) == [["a", "b", "c"], ["d"], ["e"]])
        // A span of 250 bytes holds two 100-byte chunks, not three.
        #expect(Self.names(PackRangePlanner.plan(chunks, span: 250)) == [["a", "b"], ["c"], ["d"], ["e"]])
    }

    @Test func theSameOffsetInAnotherPackIsNotContiguous() {
        let chunks = [
            Self.chunk("a", pack: 2, at: 0, length: 100), Self.chunk("b", pack: 1, at: 100, length: 100),
            Self.chunk("c", pack: 2, at: 100, length: 100)
        ]
        #expect(Self.names(PackRangePlanner.plan(chunks, span: 1 << 20)) == [["a", "c"], ["b"]])
    }

    @Test func everyChunkIsPlannedExactlyOnceWhateverTheInput() {
        var rng = Seeded(inner: SplitMix64(seed: 11))
        for _ in 0..<200 {
            var chunks: [Chunk] = []
            var offsets: [UInt64: UInt64] = [:]
            for i in 0..<Int(rng.next() % 40) {
                let pack = rng.next() % 3
                let length = UInt32(17 + rng.next() % 200)
                // Mostly back to back, sometimes a gap.
                let at = (offsets[pack] ?? 0) + (rng.next() % 4 == 0 ? 50 : 0)
                offsets[pack] = at + UInt64(length)
                chunks.append(Self.chunk("\(i)", pack: pack, at: at, length: length))
            }
            chunks.shuffle(using: &rng)
            let span = Int(rng.next() % 1000)
            let groups = PackRangePlanner.plan(chunks, span: span)
            #expect(groups.flatMap { $0 }.map(\.name).sorted() == chunks.map(\.name).sorted())
            for g in groups where g.count > 1 {
                let e = g.map(\.location.entry)
                #expect(Set(g.map(\.location.pack)).count == 1)
                #expect(zip(e, e.dropFirst()).allSatisfy { $0.offset + UInt64($0.storedLength) == $1.offset })
                #expect(e.last!.offset + UInt64(e.last!.storedLength) - e[0].offset <= UInt64(span))
            }
            #expect(PackRangePlanner.plan(chunks, span: span).map { $0.map(\.name) } == groups.map { $0.map(\.name) })
        }
    }
}

/// Seeded, so a failing case replays.
private struct Seeded: RandomNumberGenerator {
    var inner: SplitMix64
    mutating func next() -> UInt64 { inner.next() }
}
