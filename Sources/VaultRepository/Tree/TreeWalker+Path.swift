import VaultCore

/// Finding one path in a snapshot (`restore --path`, `ls PATH`, a chain profile's directory): the
/// walk's other half. Only the trees along the path are loaded, one per component, never a
/// sibling's, so the cost is the path's depth whatever the snapshot's size.
extension TreeWalker {
    /// Follows `components` down from `root`: `find` picks each component's entry in its
    /// directory's tree (nil: not there), and the walk goes on in that entry's tree. Returns the
    /// entries found, one per component in order; fewer when a component is not there, or when
    /// the path goes on below an entry that is not a directory with a tree (the last returned):
    /// which of the two is the caller's to tell, and to word.
    public func follow<Components: Sequence>(
        _ components: Components, from root: Tree,
        find: (_ tree: Tree, _ component: Components.Element) throws -> Node?
    )
        throws -> [Node]
    {
        var tree = root
        var found: [Node] = []
        for component in components {
            if let last = found.last {
                guard last.kind == .directory, let sub = last.subtree else { return found }
                try cancellation?.check()
                tree = try load(sub)
            }
            guard let node = try find(tree, component) else { return found }
            found.append(node)
        }
        return found
    }

    /// The tree of the directory at `components` below `root` (`root` itself for none), nil when
    /// the path is not there or ends at, or passes through, anything but a directory with a tree.
    public func directory<Components: Collection>(
        at components: Components, under root: Tree,
        find: (_ tree: Tree, _ component: Components.Element) throws -> Node?
    )
        throws -> Tree?
    {
        if components.isEmpty { return root }
        let found = try follow(components, from: root, find: find)
        guard found.count == components.count, let last = found.last, last.kind == .directory,
            let sub = last.subtree
        else { return nil }
        try cancellation?.check()
        return try load(sub)
    }
}
