import VaultCore

/// Depth-first walk of a snapshot's tree in canonical (byte) order: a directory's subtree is
/// walked before its next sibling. Iterative, with one loaded tree per level on its stack: a
/// snapshot is as deep as its source was, and user data must not decide the depth of our call
/// stack (memory: the depth times one tree). Paths are bytes, `/`-separated, starting with `/`.
/// The one walk over snapshot trees (issue 16); it lives in VaultRepository beside `Tree`, since
/// both the repository (index repair's reachability) and every operation above it walk trees.
/// A tree reached twice (a DAG: unchanged directories shared by snapshots) is walked twice unless
/// `visit` returns `.skipSubtree` for it, which callers that mark what they saw do.
public struct TreeWalker {
    /// What to do after visiting a node.
    public enum Step { case descend, skipSubtree }

    let load: (BlobID) throws -> Tree
    let cancellation: Cancellation?

    /// `cancellation` is checked before every tree is loaded: a walk stops within one tree.
    public init(cancellation: Cancellation? = nil, load: @escaping (BlobID) throws -> Tree) {
        self.load = load; self.cancellation = cancellation
    }

    public init(repository: Repository, codec: BlobCodec, cancellation: Cancellation? = nil) {
        self.load = { try repository.loadTree($0, codec: codec) }
        self.cancellation = cancellation
    }

    /// Calls `visit` for every node under `root` (not for `root` itself); a directory's subtree
    /// is loaded only when `visit` returns `.descend`, then `entered` gets it before its first
    /// child is visited, and `leave` is called once it has been walked (post-order: what a caller
    /// learnt about the subtree is complete then). `entered` and `leave` come in pairs, so a
    /// caller's own per-directory state (a descriptor cursor, counts) can follow them.
    /// A subtree that cannot be loaded goes to `damaged` (with the directory's path and node),
    /// and the walk goes on without it; without `damaged`, the error ends the walk.
    /// A node's path is its parent's, `/` and its name (so `/a/b` from the empty `prefix`);
    /// with `relative`, a name right under the empty `prefix` has no `/` before it (`a/b`), as
    /// a restore names what lies below the directory it restores.
    public func walk(
        _ root: Tree, prefix: [UInt8] = [], relative: Bool = false,
        _ visit: (_ path: [UInt8], _ node: Node) throws -> Step,
        entered: (_ path: [UInt8], _ node: Node, _ tree: Tree) throws -> Void = { _, _, _ in },
        leave: (_ path: [UInt8], _ node: Node) throws -> Void = { _, _ in },
        damaged: ((_ path: [UInt8], _ node: Node, _ error: Error) throws -> Void)? = nil
    ) throws {
        var stack: [(tree: Tree, next: Int, path: [UInt8], node: Node?)] = [(root, 0, prefix, nil)]
        while let top = stack.last {
            guard top.next < top.tree.nodes.count else {
                stack.removeLast()
                if let node = top.node { try leave(top.path, node) }
                continue
            }
            stack[stack.count - 1].next += 1
            let node = top.tree.nodes[top.next]
            let path = relative && top.path.isEmpty ? node.name : top.path + [47] + node.name
            guard try visit(path, node) == .descend, node.kind == .directory, let sub = node.subtree else { continue }
            try cancellation?.check()
            let tree: Tree
            do { tree = try load(sub) } catch {
                guard let damaged else { throw error }
                try damaged(path, node, error)
                continue
            }
            try entered(path, node, tree)
            stack.append((tree, 0, path, node))
        }
    }

    /// Loads the tree `root` and walks it; a root that cannot be loaded is thrown.
    public func walk(
        root: BlobID, prefix: [UInt8] = [], relative: Bool = false,
        _ visit: (_ path: [UInt8], _ node: Node) throws -> Step,
        entered: (_ path: [UInt8], _ node: Node, _ tree: Tree) throws -> Void = { _, _, _ in },
        leave: (_ path: [UInt8], _ node: Node) throws -> Void = { _, _ in },
        damaged: ((_ path: [UInt8], _ node: Node, _ error: Error) throws -> Void)? = nil
    ) throws {
        try cancellation?.check()
        try walk(
            try load(root), prefix: prefix, relative: relative, visit, entered: entered, leave: leave,
            damaged: damaged)
    }
}
