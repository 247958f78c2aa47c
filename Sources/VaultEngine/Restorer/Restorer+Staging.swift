import Glibc
import VaultCore
import VaultRepository

/// The first name restored for an inode that has several: where it is in the staged tree, and
/// the content the snapshot recorded for it.
struct HardlinkSource {
    let directory: Int
    let name: [UInt8]
    let chunks: [BlobID]
    let size: UInt64
}

/// Linux `O_PATH` (`<bits/fcntl-linux.h>`; Glibc's Swift overlay does not export it): a descriptor
/// that names a directory for the `*at` calls without needing read permission on it.
private let pathOnly: Int32 = 0o10000000

extension Restorer {
    /// Stages `unit` at `staging`. Iterative (`TreeWalker`) with a `DirectoryCursor`, so the
    /// depth of the snapshot costs neither stack nor descriptors; every name is created with the
    /// `*at` calls relative to a directory this restore created, as the snapshot's bytes. Returns
    /// the cursor holding the staged root (nil when the unit is a single file or symlink).
    func stage(_ unit: Node, at staging: String, previousRoot: String?) throws -> DirectoryCursor? {
        let parentFD = try Posix.open(Path.parent(staging), O_RDONLY | O_DIRECTORY)
        defer { Posix.close(parentFD) }
        let stagingName = Array(Path.base(staging).utf8)
        stagedDirectories = [(parent: 0, name: [])]
        if unit.kind == .directory && unit.subtree == nil {
            throw VaultError(.corrupt, "directory \(unitPath) has no tree")
        }
        // Until the marker exists the directory is empty, which a later run also removes.
        try Posix.mkdirAt(parentFD, stagingName, mode: 0o700, display: staging)
        let rootFD = try Posix.openAt(parentFD, stagingName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, display: staging)
        let cursor = try DirectoryCursor(rootFD: rootFD, display: staging)
        stagingRoot = cursor.rootFD
        let marker = try Posix.openAt(
            cursor.rootFD, Array(Self.incompleteMarker.utf8), O_WRONLY | O_CREAT | O_EXCL,
            mode: 0o600, display: Self.incompleteMarker)
        Posix.close(marker)
        if unit.kind != .directory {
            let single = try Posix.openAt(
                cursor.rootFD, Array(Self.singleMarker.utf8), O_WRONLY | O_CREAT | O_EXCL,
                mode: 0o600, display: Self.singleMarker)
            Posix.close(single)
            var named = unit
            named.name = Array(Self.entryName.utf8)
            let shown = staging + "/" + Self.entryName
            switch unit.kind {
            case .file: try restoreFile(named, in: cursor.rootFD, directory: 0, relative: [])
            case .symlink: try restoreSymlink(named, in: cursor.rootFD) { shown }
            case .fifo: try metadata.makeFifo(named, in: cursor.rootFD, relativePath: shown, applyOwner: applyOwner)
            case .directory: break
            }
            return cursor
        }
        let tree = try repository.loadTree(unit.subtree!, codec: codec)
        directoryCount = 1
        // The staged directory (index in `stagedDirectories`) of each level being walked.
        var levels = [0]
        try TreeWalker(repository: repository, codec: codec).walk(
            tree, relative: true,
            { relative, child in
                try cancellation.check()
                if let e = writer.error { throw e }
                if isExcluded(relative, name: child.name) || isOwnWorkingName(child.name, atRoot: levels.count == 1) {
                    return .skipSubtree
                }
                let fd = try cursor.current()
                switch child.kind {
                case .directory:
                    guard child.subtree != nil else {
                        throw VaultError(.corrupt, "directory \(cursor.display(child.name)) has no tree")
                    }
                    return .descend
                case .symlink:
                    try restoreSymlink(child, in: fd) { cursor.display(child.name) }
                case .file:
                    try restoreFile(child, in: fd, directory: levels[levels.count - 1], relative: relative)
                case .fifo:
                    try metadata.makeFifo(
                        child, in: fd, relativePath: cursor.display(child.name), applyOwner: applyOwner)
                }
                return .skipSubtree
            },
            entered: { _, child, _ in
                try Posix.mkdirAt(try cursor.current(), child.name, mode: 0o700, display: cursor.display(child.name))
                try cursor.enter(child.name)
                stagedDirectories.append((parent: levels[levels.count - 1], name: child.name))
                directoryCount += 1
                levels.append(stagedDirectories.count - 1)
            },
            leave: { _, done in
                levels.removeLast()
                // Its entries are all created (file content is written through descriptors and
                // does not touch the directory), so its mode and mtime can be final now.
                try applyDirectoryMetadata(done, fd: try cursor.current(), path: cursor.display())
                cursor.leave()
            })
        return cursor
    }

    /// A symlink with exactly the target bytes the snapshot holds.
    func restoreSymlink(_ node: Node, in dirFD: Int32, display: () -> String) throws {
        try Posix.symlinkAt(node.linkTarget, dirFD, node.name, display: display())
        // A symlink has no mode bits to drop when its owner cannot be set: the warning is all.
        if applyOwner { _ = metadata.setOwner(at: dirFD, node.name, uid: node.uid, gid: node.gid, path: display()) }
        try metadata.setXattrs(node, dirFD: dirFD, name: node.name, path: display())
        let time = RestoreFile.time(node.mtimeNanos)
        try Posix.setTimes(at: dirFD, node.name, access: time, modification: time, path: display())
    }

    /// Gives `node` the inode restored first for its (device, inode), with `linkat` between
    /// directory descriptors reached from the staging root one component at a time (no path
    /// string, whatever the depth). Only when the snapshot recorded the same content for both
    /// names, content that the first name's restore checks chunk by chunk; otherwise (the file
    /// changed between the two reads, or the link fails) false, and the name is restored as a
    /// file of its own, every chunk checked.
    func link(_ node: Node, to first: HardlinkSource, in dirFD: Int32) throws -> Bool {
        guard first.chunks == node.chunks, first.size == node.size, stagingRoot >= 0 else { return false }
        var chain: [[UInt8]] = []
        var i = first.directory
        while i != 0 {
            chain.append(stagedDirectories[i].name)
            i = stagedDirectories[i].parent
        }
        var current = stagingRoot
        for name in chain.reversed() {
            let next = Posix.tryOpenAt(current, name, pathOnly | O_DIRECTORY | O_NOFOLLOW)
            if current != stagingRoot { Posix.close(current) }
            if next < 0 { return false }
            current = next
        }
        defer { if current != stagingRoot { Posix.close(current) } }
        return Posix.linkAt(current, first.name, dirFD, node.name)
    }

    /// Owner, extended attributes, mode and times of a staged directory, in that order (a chown
    /// clears `security.capability`; a `user.*` attribute needs write permission).
    func applyDirectoryMetadata(_ node: Node, fd: Int32, path: String) throws {
        let owned = !applyOwner || metadata.setOwner(fd: fd, uid: node.uid, gid: node.gid, path: path)
        try metadata.setXattrs(node, fd: fd, path: path)
        try Posix.setMode(fd, MetadataApplier.mode(node.mode, ownerSet: owned), path: path)
        let time = RestoreFile.time(node.mtimeNanos)
        try Posix.setTimes(fd, access: time, modification: time, path: path)
    }
}
