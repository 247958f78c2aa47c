import Glibc
import VaultCore
import VaultRepository

extension Restorer {
    private struct PlanFrame {
        let nodes: [Node]
        let path: [UInt8]
        let node: Node
        /// The live directory exists and the cursor is in it.
        let live: Bool
        /// Live attributes (nil: the restore creates the directory).
        let old: EntryAttributes?
        /// An entry directly inside is installed or moved aside (its mtime changes).
        var changed = false
    }

    /// Compares the snapshot's `unit` with the live directory `targetFD` and lists the steps that
    /// make it equal, reading only. A file whose size and mtime (ns) match the snapshot is taken
    /// as unchanged without reading it, unless `verifyAll`; any other regular file is read and each
    /// chunk's SHA-256 compared, so only files whose content differs are rebuilt. With `full`
    /// (`--force` where the target cannot be swapped whole) every file is rebuilt.
    func planInPlace(_ unit: Node, targetFD: Int32, full: Bool) throws -> InPlacePlan {
        var plan = InPlacePlan()
        guard let rootTree = unit.subtree else { throw VaultError(.corrupt, "directory \(unitPath) has no tree") }
        let cursor = try DirectoryCursor(rootFD: dup(targetFD), display: destination)
        let rootStat = try Posix.fstat(targetFD, path: destination)
        let tree = try repository.loadTree(rootTree, codec: codec)
        var stack = [PlanFrame(nodes: tree.nodes, path: [], node: unit, live: true, old: EntryAttributes(rootStat))]
        try planRemovals(&plan, &stack[0], fd: try cursor.current())
        plan.directories = 1
        var buffer: [UInt8] = []
        // The live entry of the directory being descended into (nil: the restore creates it).
        var entering: stat?
        // A directory's own step, once everything inside it is planned.
        func finish(_ done: PlanFrame) {
            let new = EntryAttributes(done.node)
            if done.old == nil || done.changed || !done.node.xattrs.isEmpty || !sameAttributes(done.old!, new) {
                plan.directorySteps.append(InPlaceStep(kind: .dir, path: done.path, old: done.old, new: new))
                plan.directoryNodes.append(done.node)
            }
        }
        try TreeWalker(repository: repository, codec: codec).walk(
            tree, relative: true,
            { path, child in
                try cancellation.check()
                let top = stack.count - 1
                if isExcluded(path, name: child.name) || isOwnWorkingName(child.name, atRoot: top == 0) {
                    return .skipSubtree
                }
                let fd = stack[top].live ? try cursor.current() : -1
                let st = fd >= 0 ? Posix.lstatAt(fd, child.name) : nil
                let type = st.map { $0.st_mode & S_IFMT }
                switch child.kind {
                case .directory:
                    guard child.subtree != nil else {
                        throw VaultError(.corrupt, "directory \(display(path)) has no tree")
                    }
                    entering = st
                    return .descend
                case .file:
                    plan.files += 1
                    if try keepsLive(child, path: path, in: fd, liveIsFile: type == S_IFREG) { return .skipSubtree }
                    let key = child.linkKey
                    if let key, let group = plan.linkGroups[key], group.chunks == child.chunks, group.size == child.size
                    {
                        if planLinked(
                            &plan, child, group, live: type == S_IFREG ? st : nil, hadOld: st != nil, path: path)
                        {
                            stack[top].changed = true
                        }
                        return .skipSubtree
                    }
                    if let st, type == S_IFREG {
                        if !full, try sameContent(child, st, in: fd, path: path, plan: &plan, buffer: &buffer) {
                            plan.filesUnchanged += 1
                            planMeta(&plan, child, st, path: path)
                            if let key, plan.linkGroups[key] == nil {
                                plan.linkGroups[key] = InPlacePlan.LinkGroup(
                                    chunks: child.chunks, size: child.size,
                                    live: (UInt64(st.st_dev), UInt64(st.st_ino), path))
                            }
                            return .skipSubtree
                        }
                    }
                    if let key, plan.linkGroups[key] == nil {
                        plan.linkGroups[key] = InPlacePlan.LinkGroup(
                            chunks: child.chunks, size: child.size,
                            build: plan.builds.count)
                    }
                case .symlink:
                    if !full, type == S_IFLNK, Posix.readLinkAt(fd, child.name) == child.linkTarget {
                        return .skipSubtree
                    }
                case .fifo:
                    if !full, let st, type == S_IFIFO {
                        planMeta(&plan, child, st, path: path)
                        return .skipSubtree
                    }
                }
                plan.install(child, at: path, hadOld: st != nil, liveFile: type == S_IFREG)
                stack[stack.count - 1].changed = true
                return .skipSubtree
            },
            entered: { path, child, tree in
                let st = entering
                plan.directories += 1
                if let st, st.st_mode & S_IFMT == S_IFDIR {
                    try cursor.enter(child.name)
                    stack.append(
                        PlanFrame(
                            nodes: tree.nodes, path: path, node: child, live: true,
                            old: EntryAttributes(st)))
                    try planRemovals(&plan, &stack[stack.count - 1], fd: try cursor.current())
                } else {
                    plan.install(child, at: path, hadOld: st != nil)
                    stack[stack.count - 1].changed = true
                    stack.append(PlanFrame(nodes: tree.nodes, path: path, node: child, live: false, old: nil))
                }
            },
            leave: { _, _ in
                let done = stack.removeLast()
                finish(done)
                if done.live { cursor.leave() }
            })
        finish(stack.removeLast())
        // Whenever anything changes, the work directory is made and removed inside the target,
        // which changes the target's own mtime: it is always set from the snapshot at the end.
        if plan.stepCount > 0, !plan.directorySteps.contains(where: { $0.path.isEmpty }) {
            plan.directorySteps.append(
                InPlaceStep(
                    kind: .dir, path: [], old: EntryAttributes(rootStat),
                    new: EntryAttributes(unit)))
            plan.directoryNodes.append(unit)
        }
        return plan
    }

    /// A further name of a hardlinked inode whose first name is planned: one more link to the
    /// first name's rebuild, nothing when the live name already is the kept inode, else a link
    /// to the kept live name. Never hashed again. True when it installs.
    private func planLinked(
        _ plan: inout InPlacePlan, _ node: Node, _ group: InPlacePlan.LinkGroup, live st: stat?,
        hadOld: Bool, path: [UInt8]
    ) -> Bool {
        if let build = group.build {
            plan.install(node, at: path, hadOld: hadOld, link: .built(build))
            return true
        }
        guard let live = group.live else { return false }
        if let st, UInt64(st.st_dev) == live.device, UInt64(st.st_ino) == live.inode {
            plan.filesUnchanged += 1
            planMeta(&plan, node, st, path: path)
            return false
        }
        plan.install(node, at: path, hadOld: hadOld, link: .live(live.path))
        return true
    }

    /// Live entries the snapshot does not have are moved aside (the work directory and excluded
    /// paths excepted).
    private func planRemovals(_ plan: inout InPlacePlan, _ frame: inout PlanFrame, fd: Int32) throws {
        let wanted = Set(frame.nodes.map(\.name))
        for name in try DirectoryListing.entries(of: fd, path: display(frame.path)).sorted(by: {
            $0.lexicographicallyPrecedes($1)
        })
        where !wanted.contains(name) && !(frame.path.isEmpty && name == Self.workName) {
            let path = frame.path.isEmpty ? name : frame.path + [47] + name
            if isExcluded(path, name: name) { continue }
            // What an earlier restore kept or left is not the snapshot's to remove (moving it into
            // this restore's rollback would hide it): left there, at any depth, as backups skip it.
            if frame.path.isEmpty || WorkingNames.mayBeOursBelowTheRoot(name),
                let what = WorkingNames.ours(name, in: fd, atRoot: frame.path.isEmpty)
            {
                metadata.warn(
                    once: "left " + display(path),
                    "left \(display(path)): \(what), chainvault's own, "
                        + "not the node's data; remove it once the node runs well")
                continue
            }
            plan.steps.append(InPlaceStep(kind: .remove, path: path))
            frame.changed = true
        }
    }

    private func sameAttributes(_ live: EntryAttributes, _ new: EntryAttributes) -> Bool {
        var live = live
        if !applyOwner { live.uid = new.uid; live.gid = new.gid }
        return live == new
    }

    private func planMeta(_ plan: inout InPlacePlan, _ node: Node, _ st: stat, path: [UInt8]) {
        let old = EntryAttributes(st), new = EntryAttributes(node)
        if !sameAttributes(old, new) { plan.steps.append(InPlaceStep(kind: .meta, path: path, old: old, new: new)) }
    }

    /// The quick check (size and mtime in ns), then, if it fails or `--verify-all`, every chunk.
    private func sameContent(
        _ node: Node, _ st: stat, in dirFD: Int32, path: [UInt8], plan: inout InPlacePlan,
        buffer: inout [UInt8]
    ) throws -> Bool {
        let mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        if !options.verifyAll, UInt64(st.st_size) == node.size, mtime == node.mtimeNanos { return true }
        guard UInt64(st.st_size) == node.size else { return false }
        var lengths: [UInt64] = []
        for id in node.chunks {
            // Missing: the file is rebuilt, and that build's error says what is missing.
            guard let location = repository.index.lookup(id) else { return false }
            lengths.append(UInt64(location.entry.rawLength))
        }
        guard let offsets = node.chunkOffsets(rawLengths: lengths) else { return false }
        let fd = try LiveFile.openRegular(dirFD, node.name, display: display(path))
        if fd < 0 { return false }
        defer { Posix.close(fd) }
        plan.filesHashed += 1
        guard
            let comparison = try LiveFile.compare(
                fd, node, offsets: offsets, lengths: lengths, path: display(path),
                buffer: &buffer)
        else { return false }
        if !comparison.same { plan.comparisons[plan.builds.count] = comparison }
        return comparison.same
    }

    func display(_ path: [UInt8]) -> String { path.isEmpty ? destination : destination + "/" + FileName.display(path) }
}
