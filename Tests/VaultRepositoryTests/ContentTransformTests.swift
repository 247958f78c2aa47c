import Testing
import VaultCore
import VaultRepository

/// The xor8 content transform of de-obfuscated block files (FORMAT.md §7, tree format v3).
struct ContentTransformTests {
    static let key: [UInt8] = [0x95, 0x47, 0x39, 0x30, 0xf3, 0x68, 0x0c, 0x28]

    /// Byte by byte, as FORMAT.md states it: `stored[o] = disk[o] ^ key[o % 8]` below `length`.
    static func reference(_ bytes: [UInt8], length: Int) -> [UInt8] {
        bytes.enumerated().map { o, b in o < length ? b ^ key[o % 8] : b }
    }

    @Test(arguments: [[1, 7, 8, 9, 4095, 4096, 10_000], [3, 5, 13, 17, 8191, 9000], [10_000]])
    func piecesAtAnyOffsetMatchTheWholeFileAndTheTailPastTheRangeIsUntouched(cuts: [Int]) throws {
        var disk = [UInt8](repeating: 0, count: 10_000)
        var random = SplitMix64(seed: 3)
        for i in 0..<9_000 { disk[i] = UInt8(truncatingIfNeeded: random.next()) }  // then a raw zero tail
        let length = 8_997  // not a multiple of 8: the tail starts mid-word
        let transform = try #require(ContentTransform(xor8: Self.key, length: UInt64(length)))
        var stored = disk
        var start = 0
        for cut in cuts {  // chunk boundaries at odd offsets, as FastCDC cuts them
            var piece = Array(stored[start..<cut])
            transform.apply(&piece, count: piece.count, at: UInt64(start))
            stored.replaceSubrange(start..<cut, with: piece)
            start = cut
        }
        #expect(stored == Self.reference(disk, length: length))
        #expect(stored[length...].allSatisfy { $0 == 0 } == disk[length...].allSatisfy { $0 == 0 })
        #expect(Array(stored[9_000...]) == [UInt8](repeating: 0, count: 1_000), "the zero tail stays raw zeros")
        transform.apply(&stored, count: stored.count, at: 0)
        #expect(stored == disk, "applied twice is the identity: a restore gets the disk bytes back")
    }

    @Test func aKeyOfZerosOrAnEmptyRangeIsNoTransform() {
        #expect(ContentTransform(xor8: [UInt8](repeating: 0, count: 8), length: 100) == nil)
        #expect(ContentTransform(xor8: Self.key, length: 0) == nil)
        #expect(ContentTransform(xor8: Array(Self.key.prefix(4)), length: 100) == nil)
    }

    static func file(_ transform: ContentTransform?, zeroRuns: [ZeroRun] = []) -> Node {
        var node = Node(
            name: Array("blk00000.dat".utf8), kind: .file, mode: 0o600, size: 16 << 20,
            chunks: [SHA256.hash("c")], zeroRuns: zeroRuns)
        node.transform = transform
        return node
    }

    @Test func aTransformIsTreeVersion3AndRoundTripsWhileTreesWithoutOneKeepTheirVersion() throws {
        let transform = ContentTransform(xor8: Self.key, length: 1 << 20)
        let tree = Tree(nodes: [
            Self.file(transform, zeroRuns: [ZeroRun(offset: 2 << 20, length: 14 << 20, allocated: true)]),
            Node(name: Array("xor.dat".utf8), kind: .file, size: 8, chunks: [SHA256.hash("k")])
        ])
        let bytes = tree.encode()
        #expect(tree.version == 3 && Array(bytes.prefix(4)) == Array("CVT3".utf8))
        #expect(try Tree.decode(bytes, what: "t") == tree)
        #expect(Tree(nodes: [Self.file(nil)]).version == 1)
        #expect(
            Tree(nodes: [Self.file(nil, zeroRuns: [ZeroRun(offset: 2 << 20, length: 1, allocated: false)])]).version
                == 2)
    }

    /// A restore must never leave bytes of the XORed range zero or read a key it cannot apply.
    @Test func hostileTransformsAreRefused() throws {
        let good = Tree(nodes: [Self.file(ContentTransform(xor8: Self.key, length: 1 << 20))]).encode()
        // Layout of the one node: magic, count, name, fixed fields, chunks, zero runs, transform.
        let transformAt = 4 + 4 + 2 + 12 + 1 + 12 + 16 + 16 + 4 + 8 + 4 + 32 + 4
        #expect(good[transformAt] == 1 && good.count == transformAt + 1 + 8 + 8 + 2)
        func decoded(_ edit: (inout [UInt8]) -> Void) -> String? {
            var bytes = good
            edit(&bytes)
            do { _ = try Tree.decode(bytes, what: "tree t"); return nil } catch {
                return (error as? VaultError)?.message
            }
        }
        #expect(decoded { $0[transformAt] = 2 }?.contains("unknown content transform 2") == true)
        #expect(decoded { for i in 1...8 { $0[transformAt + i] = 0 } }?.contains("zero key") == true)
        #expect(decoded { $0[transformAt + 9 + 7] = 0x10 }?.contains("outside its") == true)
        let runInside = Tree(nodes: [
            Self.file(
                ContentTransform(xor8: Self.key, length: 3 << 20),
                zeroRuns: [ZeroRun(offset: 2 << 20, length: 1 << 20, allocated: true)])
        ])
        #expect(throws: VaultError.self) { try Tree.decode(runInside.encode(), what: "t") }
    }
}
