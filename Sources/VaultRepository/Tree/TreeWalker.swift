/// Depth-first walk of a snapshot's tree in canonical (byte) order. Iterative, with one loaded
/// tree per level on its stack: a snapshot is as deep as its source was, and user data must
/// not decide the depth of our call stack. Paths are bytes, `/`-separated, starting with `/`.
public struct TreeWalker {
    /// What to do after visiting a node.
    public enum Step { case descend, skipSubtree }

    private let load: (BlobID) throws -> Tree

    public init(load: @escaping (BlobID) throws -> Tree) { self.load = load }

    public init(repository: Repository, codec: BlobCodec) {
        self.load = { try repository.loadTree($0, codec: codec) }
    }

    /// Calls `visit` for every node under `root` (not for `root` itself); a directory's subtree
    /// is loaded only when `visit` returns `.descend`, and `leave` is called once it has been
    /// walked (post-order: what a caller learnt about the subtree is complete then).
    public func walk(_ root: Tree, prefix: [UInt8] = [], _ visit: (_ path: [UInt8], _ node: Node) throws -> Step,
                     leave: (_ path: [UInt8], _ node: Node) throws -> Void = { _, _ in }) throws {
        var stack: [(tree: Tree, next: Int, path: [UInt8], node: Node?)] = [(root, 0, prefix, nil)]
        while let top = stack.last {
            guard top.next < top.tree.nodes.count else {
                stack.removeLast()
                if let node = top.node { try leave(top.path, node) }
                continue
            }
            stack[stack.count - 1].next += 1
            let node = top.tree.nodes[top.next]
            let path = top.path + [47] + node.name
            if try visit(path, node) == .descend, node.kind == .directory, let sub = node.subtree {
                stack.append((try load(sub), 0, path, node))
            }
        }
    }
}
