import Foundation
import Synchronization
import Testing
import VaultCore
import VaultRepository

/// Issue 17, "Index memory": the compact index (sorted 48-byte slots plus a small dictionary of
/// recent adds) answers exactly as the hash table of objects did, through every path that fills it.
struct MasterIndexTests {
    /// A deterministic generator (SplitMix64), so a failure reproduces.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func digest(_ g: inout Seeded) -> SHA256Digest {
        SHA256Digest(w0: g.next(), w1: g.next(), w2: g.next(), w3: g.next())
    }

    static func pack(_ g: inout Seeded, ids: [BlobID]) -> IndexedPack {
        let entries = ids.enumerated().map { i, id in
            PackEntry(
                type: g.next() % 5 == 0 ? .tree : .data, compression: g.next() % 2 == 0 ? .zstd : .none,
                id: id,
                offset: UInt64(i) * 4096 + g.next() % 4096, storedLength: UInt32(g.next() % (4 << 20)),
                rawLength: UInt32(g.next() % (4 << 20)))
        }
        let salt = (0..<32).map { _ in UInt8(truncatingIfNeeded: g.next()) }
        return IndexedPack(id: PackID(digest(&g)), salt: salt, entries: entries)
    }

    /// What the old dictionary answered: the first pack that listed a blob wins.
    struct Reference {
        var locations: [BlobID: BlobLocation] = [:]
        mutating func add(_ p: IndexedPack) {
            for e in p.entries where locations[e.id] == nil {
                locations[e.id] = BlobLocation(pack: p.id, salt: p.salt, entry: e)
            }
        }
    }

    static func expectSame(
        _ index: MasterIndex, _ reference: Reference, absent: [BlobID],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        var wrong = 0
        for (id, want) in reference.locations {
            guard let got = index.lookup(id), got.pack == want.pack, got.salt == want.salt,
                got.entry == want.entry
            else {
                wrong += 1; continue
            }
        }
        #expect(
            wrong == 0, "\(wrong) of \(reference.locations.count) blobs answered wrongly",
            sourceLocation: sourceLocation)
        #expect(absent.allSatisfy { !index.contains($0) && index.lookup($0) == nil }, sourceLocation: sourceLocation)
        #expect(index.blobCount == reference.locations.count, sourceLocation: sourceLocation)
        let bytes = reference.locations.values.reduce(UInt64(0)) { $0 + UInt64($1.entry.storedLength) }
        #expect(index.storedBytes == bytes, sourceLocation: sourceLocation)
    }

    /// Loaded packs, then a backup's adds (several merges: more than 65,536 recent blobs), then a
    /// second load, with copies of blobs in later packs: every lookup is the first copy's.
    @Test func everyPathAnswersAsTheFirstPackThatListedTheBlob() {
        var g = Seeded(state: 17)
        let index = MasterIndex()
        var reference = Reference()
        var known: [BlobID] = []
        func fresh(_ n: Int) -> [BlobID] {
            let ids = (0..<n).map { _ in Self.digest(&g) }
            known += ids
            return ids
        }
        func copies(_ n: Int) -> [BlobID] { (0..<n).map { _ in known[Int(g.next() % UInt64(known.count))] } }

        var loaded: [IndexedPack] = []
        for _ in 0..<40 { loaded.append(Self.pack(&g, ids: fresh(2000) + (known.isEmpty ? [] : copies(100)))) }
        index.load(loaded)
        loaded.forEach { reference.add($0) }
        for _ in 0..<90 {
            let p = Self.pack(&g, ids: fresh(1500) + copies(50))
            index.add(p); reference.add(p)
        }
        let late = (0..<10).map { _ in Self.pack(&g, ids: fresh(1000) + copies(300)) }
        index.load(late)
        late.forEach { reference.add($0) }
        #expect(reference.locations.count > 200_000)
        Self.expectSame(index, reference, absent: (0..<1000).map { _ in Self.digest(&g) })
        #expect(index.packs.count == 140)
    }

    /// Many copies of few blobs in one load (the sort's equal band), found once each.
    @Test func aBlobInManyPacksIsOneBlobInItsFirstPack() {
        var g = Seeded(state: 3)
        let ids = (0..<50).map { _ in Self.digest(&g) }
        let packs = (0..<200).map { _ in Self.pack(&g, ids: (0..<100).map { _ in ids[Int(g.next() % 50)] }) }
        let index = MasterIndex()
        index.load(packs)
        var reference = Reference()
        packs.forEach { reference.add($0) }
        Self.expectSame(index, reference, absent: [Self.digest(&g)])
        #expect(index.blobCount == 50)
    }

    /// An index may claim an offset beyond 4 GiB (a reader must then fail at the pack, with the
    /// offset it was given): it is kept exactly, not cut to 32 bits.
    @Test func anOffsetBeyondFourGiBIsKeptExactly() {
        var g = Seeded(state: 5)
        let id = Self.digest(&g)
        let wide = PackEntry(
            type: .tree, compression: .none, id: id, offset: 5 << 30 | 12345, storedLength: 7,
            rawLength: 9)
        let pack = IndexedPack(id: PackID(Self.digest(&g)), salt: Array(repeating: 1, count: 32), entries: [wide])
        for viaLoad in [true, false] {
            let index = MasterIndex()
            if viaLoad { index.load([pack]) } else { index.add(pack) }
            #expect(index.lookup(id)?.entry == wide)
        }
    }

    /// Lookups from several threads while packs are added (and merged in): a blob once added is
    /// always found with its entry.
    @Test func lookupsFromSeveralThreadsWhileABackupAdds() {
        var g = Seeded(state: 11)
        let index = MasterIndex()
        let packs = (0..<120).map { _ in Self.pack(&g, ids: (0..<1000).map { _ in Self.digest(&g) }) }
        index.load(Array(packs[0..<20]))
        let added = Counter(20), failures = Counter(0)
        let group = DispatchGroup()
        for t in 0..<3 {
            group.enter()
            Thread {
                var rng = Seeded(state: UInt64(100 + t))
                while added.value < packs.count {
                    let p = packs[Int(rng.next() % UInt64(added.value))]
                    let e = p.entries[Int(rng.next() % UInt64(p.entries.count))]
                    if index.lookup(e.id)?.entry != e { failures.increment() }
                }
                group.leave()
            }.start()
        }
        for p in packs[20...] { index.add(p); added.increment() }
        group.wait()
        #expect(failures.value == 0)
        #expect(index.blobCount == 120_000)
    }

    final class Counter: Sendable {
        private let n: Mutex<Int>
        init(_ n: Int) { self.n = Mutex(n) }
        var value: Int { n.withLock { $0 } }
        func increment() { n.withLock { $0 += 1 } }
    }
}
