import Testing
import VaultCore
import VaultRepository

/// Tree format v2 (FORMAT.md §7): fifos, zero runs and extended attributes, with v1 kept for every
/// tree that needs none of them.
struct TreeVersion2Tests {
    static let acl: [UInt8] = [
        2, 0, 0, 0, 1, 0, 6, 0, 255, 255, 255, 255, 4, 0, 4, 0, 255, 255, 255, 255, 32, 0, 0, 0, 255, 255, 255, 255
    ]

    static var sample: Tree {
        let file = Node(
            name: Array("blk00000.dat".utf8), kind: .file, mode: 0o600, size: 16 << 20, chunks: [SHA256.hash("c")],
            zeroRuns: [ZeroRun(offset: 1 << 20, length: 15 << 20, allocated: true)],
            xattrs: [
                ExtendedAttribute(name: Array("user.b".utf8), value: [0, 255]),
                ExtendedAttribute(name: Array("system.posix_acl_access".utf8), value: acl)
            ])
        let fifo = Node(name: Array("control".utf8), kind: .fifo, mode: 0o620, mtimeNanos: 7)
        let dir = Node(
            name: Array("keys".utf8), kind: .directory, mode: 0o700, subtree: SHA256.hash("t"),
            xattrs: [ExtendedAttribute(name: Array("system.posix_acl_default".utf8), value: acl)])
        return Tree(nodes: [file, fifo, dir])
    }

    @Test func aTreeThatNeedsNothingNewStaysVersion1() {
        let plain = Tree(nodes: [Node(name: Array("a".utf8), kind: .file, size: 3, chunks: [SHA256.hash("a")])])
        #expect(plain.version == 1 && Array(plain.encode().prefix(4)) == Array("CVT1".utf8))
    }

    @Test func version2RoundTripsFifosZeroRunsAndAttributes() throws {
        let tree = Self.sample
        let bytes = tree.encode()
        #expect(Array(bytes.prefix(4)) == Array("CVT2".utf8))
        let decoded = try Tree.decode(bytes, what: "t")
        #expect(decoded == tree)
        #expect(
            decoded.node(named: Array("blk00000.dat".utf8))?.xattrs.map(\.name.first) == [115, 117],
            "sorted by name bytes")
        // Pinned: the hash of the bytes an independent encoder (Python struct.pack, written from
        // FORMAT.md §7 alone) produced for this tree.
        #expect(SHA256.hash(bytes).hex == Self.pinnedSampleHash)
    }

    static let pinnedSampleHash = "9311113ac3551888daa6d3d7df3b3e141302117ffc1137ee3da4587353a774e3"

    @Test func version1ReadersOfKind4AndHostileVersion2FieldsAreRejected() throws {
        var v1 = Tree(nodes: [Node(name: Array("p".utf8), kind: .file)]).encode()
        v1[4 + 4 + 2 + 1] = Node.Kind.fifo.rawValue
        let e = #expect(throws: VaultError.self) { try Tree.decode(v1, what: "t") }
        #expect(e?.message.contains("unsupported type 4") == true)

        func file(_ runs: [ZeroRun], size: UInt64 = 100) -> [UInt8] {
            Tree(nodes: [Node(name: Array("f".utf8), kind: .file, size: size, zeroRuns: runs)]).encode()
        }
        #expect(
            try Tree.decode(file([ZeroRun(offset: 0, length: 100, allocated: false)]), what: "t").nodes[0].zeroRuns
                .count == 1)
        for hostile in [
            [ZeroRun(offset: 50, length: 51, allocated: false)],  // past the end
            [ZeroRun(offset: 10, length: 0, allocated: true)],  // empty
            [ZeroRun(offset: 20, length: 5, allocated: true), ZeroRun(offset: 10, length: 5, allocated: true)],
            [ZeroRun(offset: UInt64.max, length: 2, allocated: false)]
        ] {
            #expect(throws: VaultError.self) { try Tree.decode(file(hostile, size: 100), what: "t") }
        }
        // Counts are checked against the bytes left before anything is allocated.
        var bytes = file([ZeroRun(offset: 0, length: 1, allocated: false)])
        let countAt = bytes.count - 2 - 17 - 4
        bytes.replaceSubrange(countAt..<countAt + 4, with: [255, 255, 255, 255])
        #expect(throws: VaultError.self) { try Tree.decode(bytes, what: "t") }
        var attrs = Tree(nodes: [
            Node(
                name: Array("f".utf8), kind: .fifo,
                xattrs: [ExtendedAttribute(name: Array("user.a".utf8), value: [1])])
        ]).encode()
        let valueLengthAt = attrs.count - 1 - 4
        attrs.replaceSubrange(valueLengthAt..<valueLengthAt + 4, with: [1, 0, 1, 0])  // 65 537 bytes
        #expect(throws: VaultError.self) { try Tree.decode(attrs, what: "t") }
        let fifoWithSize = Tree(nodes: [Node(name: Array("f".utf8), kind: .fifo, size: 1)]).encode()
        #expect(throws: VaultError.self) { try Tree.decode(fifoWithSize, what: "t") }
    }

    @Test(
        arguments: [
            // (chunk lengths, zero runs as (offset, length), size, expected offsets or nil)
            ([4, 6], [(4, 10)], 20, [0, 14]),
            ([], [(0, 5)], 5, []),
            ([5], [], 5, [0]),
            ([3], [(0, 2)], 5, [2]),
            ([5], [(2, 2)], 9, nil),  // the chunk would overlap the run
            ([4], [(4, 4)], 9, nil),  // one byte unaccounted for
            ([4, 4], [], 7, nil)
        ] as [([UInt64], [(UInt64, UInt64)], UInt64, [UInt64]?)])
    func chunksFillEveryByteNoZeroRunCovers(
        _ lengths: [UInt64], _ runs: [(UInt64, UInt64)], _ size: UInt64, _ expected: [UInt64]?
    ) {
        let node = Node(
            name: [102], kind: .file, size: size,
            zeroRuns: runs.map { ZeroRun(offset: $0.0, length: $0.1, allocated: false) })
        #expect(node.chunkOffsets(rawLengths: lengths) == expected)
    }
}
