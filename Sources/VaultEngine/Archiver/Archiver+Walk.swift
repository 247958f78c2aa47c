import Foundation
import Glibc
import VaultCore
import VaultRepository

/// One directory being saved: its names (the kernel's bytes, in canonical byte order), how far
/// the walk got, and the nodes made so far.
struct DirectoryFrame {
    let names: [[UInt8]]
    var next = 0
    var nodes: [Node] = []
    /// Files handed to a reader: their chunk lists arrive before `group` completes.
    var pending: [(Int, FileChunks)] = []
    let group = DispatchGroup()
    let parentTree: Tree?
    let included: Bool
    /// What this directory becomes in its parent's tree; nil for the root.
    let node: Node?
}

extension Archiver {
    /// Saves the tree under `root` (which stays open) and returns the root tree id. Iterative: an
    /// explicit stack of frames, and a `DirectoryCursor` that keeps a bounded number of
    /// descriptors open, so neither the depth of the source nor its descriptor limit matters.
    func saveTree(root: Int32, parentTree: Tree?, included: Bool) throws -> BlobID {
        let copy = dup(root)
        if copy < 0 { throw Posix.error("open", options.source) }
        let cursor = try DirectoryCursor(rootFD: copy, display: Path.absolute(options.source))
        var stack = [DirectoryFrame(names: list(cursor), parentTree: parentTree, included: included, node: nil)]
        while true {
            try cancellation.check()
            if let e = saver.error { throw e }
            let top = stack.count - 1
            if stack[top].next < stack[top].names.count {
                let name = stack[top].names[stack[top].next]
                stack[top].next += 1
                // A restore's own working directories are never recorded: a snapshot holding one
                // would put a stale journal's directory or an old copy back (FORMAT.md).
                if top == 0 || WorkingNames.mayBeOursBelowTheRoot(name),
                    let what = WorkingNames.ours(name, in: try cursor.current(), atRoot: top == 0)
                {
                    let path = Path.join(Path.absolute(options.source), cursor.display(name))
                    notices.append("skipped \(path): \(what), chainvault's own (never backed up)")
                    continue
                }
                if let child = try saveEntry(name, in: &stack[top], cursor: cursor) { stack.append(child) }
                continue
            }
            var frame = stack.removeLast()
            frame.group.wait()
            if let e = saver.error { throw e }
            try cancellation.check()
            for (i, chunks) in frame.pending {
                frame.nodes[i].chunks = chunks.all; frame.nodes[i].size = chunks.size;
                frame.nodes[i].zeroRuns = chunks.zeroRuns
                frame.nodes[i].transform = chunks.transform
            }
            let id = try saveTree(Tree(nodes: frame.nodes)) {
                "/"
                    + (stack.compactMap(\.node) + [frame.node].compactMap { $0 }).map { FileName.display($0.name) }
                    .joined(separator: "/")
            }
            guard var node = frame.node else { return id }
            cursor.leave()
            node.subtree = id
            stack[stack.count - 1].nodes.append(node)
            stats.directories += 1
        }
    }

    /// The current directory's names in canonical (byte) order; a directory that cannot be
    /// listed is reported and saved as empty.
    private func list(_ cursor: DirectoryCursor) -> [[UInt8]] {
        do {
            return try DirectoryListing.entries(of: try cursor.current(), path: cursor.display())
                .sorted { $0.lexicographicallyPrecedes($1) }
        } catch {
            let cause = (error as? VaultError)?.causeDescription ?? "\(error)"
            warn("\(cursor.display()): cannot list directory (\(cause)), saved as empty")
            return []
        }
    }

    /// Saves one entry of the current directory into `frame`; returns the frame of a
    /// subdirectory to walk next (already entered by `cursor`).
    private func saveEntry(
        _ name: [UInt8], in frame: inout DirectoryFrame,
        cursor: DirectoryCursor
    ) throws -> DirectoryFrame? {
        let fd = try cursor.current()
        // The printable path is built only when something needs it: it costs the depth.
        var relCache: String?
        func rel() -> String {
            if let relCache { return relCache }
            relCache = cursor.display(name)
            return relCache!
        }
        if !filter.patterns.isEmpty, filter.matches(relativePath: rel(), name: FileName.display(name)) { return nil }
        let isIncluded = frame.included || include.matches(relativePath: rel(), name: FileName.display(name))
        guard let st = Posix.lstatAt(fd, name) else {
            warn("\(rel()): vanished before it could be read (\(String(cString: strerror(errno))))")
            markIncomplete(rel())
            return nil
        }
        let previous = frame.parentTree?.node(named: name)
        var node = Self.node(name: name, st)
        switch st.st_mode & S_IFMT {
        case S_IFDIR:
            var previousTree: Tree?
            if let p = previous, p.kind == .directory, let sub = p.subtree {
                do { previousTree = try repository.loadTree(sub, codec: treeCodec) } catch {
                    let reason = (error as? VaultError)?.message ?? "\(error)"
                    notices.append(
                        "\(rel()): the parent snapshot's tree \(sub.shortHex) for it cannot be read "
                            + "(\(reason)), so every file under it was read again")
                }
            }
            readXattrs(dirFD: fd, name: name, relativePath: rel(), into: &node)
            do { try cursor.enter(name) } catch {
                warn(
                    "\(rel()): cannot open directory (\((error as? VaultError)?.causeDescription ?? "\(error)")), skipped"
                )
                return nil
            }
            return DirectoryFrame(names: list(cursor), parentTree: previousTree, included: isIncluded, node: node)
        case S_IFREG:
            if !isIncluded { return nil }
            stats.files += 1
            stats.bytesTotal += UInt64(st.st_size)
            if let p = previous, p.kind == .file, p.size == node.size, p.mtimeNanos == node.mtimeNanos,
                p.ctimeNanos == node.ctimeNanos, p.inode == node.inode, p.chunks.allSatisfy(repository.index.contains)
            {
                node.chunks = p.chunks
                node.zeroRuns = p.zeroRuns
                node.transform = p.transform  // the same disk bytes: the parent's key restores them
                stats.filesUnchanged += 1
                progress?.add(files: 1, bytes: node.size)
            } else if let chunks = try saveFile(
                dirFD: fd, name: name, relativePath: rel(), node: &node,
                group: frame.group, previous: previous)
            {
                frame.pending.append((frame.nodes.count, chunks))
            } else {
                return nil
            }
        case S_IFLNK:
            if !isIncluded { return nil }
            guard let target = Posix.readLinkAt(fd, name) else {
                warn("\(rel()): cannot read symlink (\(String(cString: strerror(errno)))), skipped")
                return nil
            }
            node.linkTarget = target
            stats.symlinks += 1
        case S_IFIFO:
            // Recorded from its metadata alone: a fifo is never opened (that would block on it).
            if !isIncluded { return nil }
        case S_IFSOCK:
            // Skipped by design: a program recreates its socket when it starts.
            if isIncluded && skippedSockets.count < Self.maxWarnings { skippedSockets.append(rel()) }
            return nil
        default:
            warn("\(rel()): special file (device) not backed up")
            return nil
        }
        readXattrs(dirFD: fd, name: name, relativePath: rel(), into: &node)
        frame.nodes.append(node)
        return nil
    }
}
