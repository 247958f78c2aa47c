import Testing
import VaultCore
import VaultRepository

/// `TreeWalker`, the one walk over snapshot trees (issue 16): its order, its skips, what it does
/// with a tree it cannot load, cancellation, and a depth no call stack would survive.
@Suite struct TreeWalkerTests {
    /// Trees by id, as a repository would load them; an id not here cannot be loaded.
    final class Store {
        var trees: [BlobID: Tree] = [:]
        var loads = 0
        func add(_ nodes: [Node]) -> BlobID {
            let tree = Tree(nodes: nodes)
            let id = SHA256.hash(tree.encode())
            trees[id] = tree
            return id
        }
        func load(_ id: BlobID) throws -> Tree {
            loads += 1
            guard let tree = trees[id] else { throw VaultError(.corrupt, "tree \(id.shortHex) is damaged") }
            return tree
        }
    }

    static func file(_ name: String) -> Node { Node(name: Array(name.utf8), kind: .file) }
    static func dir(_ name: String, _ id: BlobID) -> Node {
        Node(name: Array(name.utf8), kind: .directory, subtree: id)
    }
    static func text(_ path: [UInt8]) -> String { String(decoding: path, as: UTF8.self) }

    @Test func visitsDepthFirstInByteOrderAndLeavesAfterTheSubtree() throws {
        let store = Store()
        let inner = store.add([Self.file("z"), Self.file("a")])
        let root = store.add([Self.file("c"), Self.dir("b", inner), Self.file("B")])
        var events: [String] = []
        try TreeWalker(load: store.load).walk(
            root: root,
            { path, _ in
                events.append(Self.text(path))
                return .descend
            }, leave: { path, _ in events.append("leave " + Self.text(path)) })
        #expect(events == ["/B", "/b", "/b/a", "/b/z", "leave /b", "/c"])
    }

    @Test func aSkippedSubtreeIsNeverLoaded() throws {
        let store = Store()
        let shared = store.add([Self.file("x")])
        let root = store.add([Self.dir("one", shared), Self.dir("two", shared)])
        var seen = Set<BlobID>(), paths: [String] = []
        try TreeWalker(load: store.load).walk(root: root) { path, node in
            paths.append(Self.text(path))
            guard let sub = node.subtree else { return .skipSubtree }
            return seen.insert(sub).inserted ? .descend : .skipSubtree
        }
        #expect(paths == ["/one", "/one/x", "/two"])
        #expect(store.loads == 2, "the root and the shared tree, once")
    }

    @Test func aDamagedSubtreeGoesToItsHandlerAndTheWalkGoesOn() throws {
        let store = Store()
        let missing = SHA256.hash([1, 2, 3])
        let root = store.add([Self.dir("bad", missing), Self.file("good")])
        var damaged: [String] = [], paths: [String] = []
        let walker = TreeWalker(load: store.load)
        try walker.walk(
            root: root,
            { path, _ in
                paths.append(Self.text(path)); return .descend
            },
            damaged: { path, node, _ in damaged.append(Self.text(path) + " " + node.subtree!.shortHex) })
        #expect(damaged == ["/bad \(missing.shortHex)"] && paths == ["/bad", "/good"])
        // Without a handler the error ends the walk.
        #expect(throws: VaultError.self) { try walker.walk(root: root) { _, _ in .descend } }
    }

    @Test func aCancelledWalkStopsBeforeTheNextTree() throws {
        let store = Store()
        let inner = store.add([Self.file("f")])
        let root = store.add([Self.dir("d", inner), Self.dir("e", inner)])
        let cancellation = Cancellation()
        var visited = 0
        #expect(throws: VaultError.self) {
            try TreeWalker(cancellation: cancellation, load: store.load).walk(root: root) { _, _ in
                visited += 1
                cancellation.cancel()
                return .descend
            }
        }
        #expect(visited == 1 && store.loads == 1, "only the root was loaded")
    }

    /// `entered` gets each loaded subtree before its first child, paired with `leave`; relative
    /// paths have no `/` in front (a restore's names below its unit).
    @Test func enteredComesWithTheLoadedTreeAndPairsWithLeave() throws {
        let store = Store()
        let inner = store.add([Self.file("f")])
        let missing = SHA256.hash([9])
        let root = store.add([Self.dir("bad", missing), Self.dir("d", inner), Self.file("g")])
        var events: [String] = []
        try TreeWalker(load: store.load).walk(
            root: root, relative: true,
            { path, _ in
                events.append(Self.text(path))
                return .descend
            },
            entered: { path, _, tree in
                events.append("enter \(Self.text(path)) \(tree.nodes.count)")
            }, leave: { path, _ in events.append("leave " + Self.text(path)) },
            damaged: { path, _, _ in events.append("damaged " + Self.text(path)) })
        #expect(events == ["bad", "damaged bad", "d", "enter d 1", "d/f", "leave d", "g"])
    }

    /// `follow` loads the trees along one path only, and says where it stopped.
    @Test func followLoadsOnlyTheTreesAlongThePath() throws {
        let store = Store()
        let deep = store.add([Self.file("x")])
        let a = store.add([Self.dir("b", deep), Self.file("c")])
        let sibling = store.add([Self.file("s")])
        let rootID = store.add([Self.dir("a", a), Self.dir("z", sibling)])
        let root = try store.load(rootID)
        let walker = TreeWalker(load: store.load)
        let find = { (tree: Tree, name: String) in tree.node(named: Array(name.utf8)) }
        store.loads = 0
        #expect(try walker.follow(["a", "b", "x"], from: root, find: find).map(\.nameString) == ["a", "b", "x"])
        #expect(store.loads == 2, "the trees of a and a/b, never z's")
        #expect(try walker.follow(["a", "nope", "x"], from: root, find: find).map(\.nameString) == ["a"])
        // Below a file: the file is the last entry found.
        #expect(try walker.follow(["a", "c", "x"], from: root, find: find).map(\.nameString) == ["a", "c"])
        #expect(try walker.directory(at: ["a", "b"], under: root, find: find)?.nodes.map(\.nameString) == ["x"])
        #expect(try walker.directory(at: [String](), under: root, find: find)?.nodes.count == 2)
        #expect(try walker.directory(at: ["a", "c"], under: root, find: find) == nil)
    }

    /// Two trees merged by name per level; a directory whose subtree id is the same on both sides
    /// is never loaded, one whose id differs is walked paired.
    @Test func walkPairsMergesByNameAndSkipsSameSubtrees() throws {
        let store = Store()
        let same = store.add([Self.file("s")])
        let oldInner = store.add([Self.file("gone"), Self.file("kept")])
        let newInner = store.add([Self.file("kept"), Self.file("new")])
        let a = try store.load(store.add([Self.dir("d", oldInner), Self.file("only-a"), Self.dir("u", same)]))
        let b = try store.load(store.add([Self.file("B"), Self.dir("d", newInner), Self.dir("u", same)]))
        var events: [String] = []
        store.loads = 0
        try TreeWalker(load: store.load).walkPairs(a, b) { path, x, y in
            events.append((x == nil ? "+" : y == nil ? "-" : "=") + Self.text(path))
            return .descend
        }
        #expect(events == ["+/B", "=/d", "-/d/gone", "=/d/kept", "+/d/new", "-/only-a", "=/u"])
        #expect(store.loads == 2, "both sides of d, never u's shared tree")
    }

    /// No recursion: 10,000 levels (each path is built whole, so deeper only costs time).
    @Test func aTreeTenThousandLevelsDeepIsWalked() throws {
        let store = Store()
        var id = store.add([Self.file("leaf")])
        let depth = 10_000
        for _ in 0..<depth { id = store.add([Self.dir("d", id)]) }
        var deepest = 0, files = 0
        try TreeWalker(load: store.load).walk(root: id) { path, node in
            if node.kind == .directory { deepest = max(deepest, path.count / 2) } else { files += 1 }
            return .descend
        }
        #expect(deepest == depth && files == 1)
    }
}
