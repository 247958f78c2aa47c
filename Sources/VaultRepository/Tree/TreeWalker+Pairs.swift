import VaultCore

/// Two snapshots side by side (`diff`): the walk over a pair of trees, merged by name.
extension TreeWalker {
    /// Walks `a` and `b` together, depth-first in canonical (byte) order: at each level the two
    /// sorted node lists are merged by name, and `visit` gets each name once with its node in `a`,
    /// in `b`, or in both. A directory in both is descended into when `visit` returns `.descend`
    /// and the two subtree ids differ (the same id is the same content, so an unchanged directory
    /// costs nothing); then both subtrees are loaded and walked paired. Iterative, two loaded
    /// trees per level; a subtree that cannot be loaded ends the walk with its error.
    public func walkPairs(
        _ a: Tree, _ b: Tree, prefix: [UInt8] = [],
        _ visit: (_ path: [UInt8], _ a: Node?, _ b: Node?) throws -> Step
    ) throws {
        var stack: [(a: Tree, b: Tree, i: Int, j: Int, path: [UInt8])] = [(a, b, 0, 0, prefix)]
        while let top = stack.last {
            let k = stack.count - 1
            let na = top.i < top.a.nodes.count ? top.a.nodes[top.i] : nil
            let nb = top.j < top.b.nodes.count ? top.b.nodes[top.j] : nil
            var x: Node?, y: Node?
            if let na, let nb {
                if na.name.lexicographicallyPrecedes(nb.name) {
                    x = na
                } else if nb.name.lexicographicallyPrecedes(na.name) {
                    y = nb
                } else {
                    (x, y) = (na, nb)
                }
            } else if na == nil && nb == nil {
                stack.removeLast()
                continue
            } else {
                (x, y) = (na, nb)
            }
            if x != nil { stack[k].i += 1 }
            if y != nil { stack[k].j += 1 }
            let path = top.path + [47] + (x ?? y)!.name
            guard try visit(path, x, y) == .descend, let x, let y, x.kind == .directory, y.kind == .directory,
                let sa = x.subtree, let sb = y.subtree, sa != sb
            else { continue }
            try cancellation?.check()
            stack.append((try load(sa), try load(sb), 0, 0, path))
        }
    }
}
