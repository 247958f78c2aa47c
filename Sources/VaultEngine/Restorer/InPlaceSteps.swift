import Glibc
import VaultCore

/// Carries out or undoes the steps of an in-place restore journal. Each action first looks at
/// the file system (is `new/<index>` still there? is `rollback/<path>` there?), and every move is
/// one `renameat2(RENAME_NOREPLACE)`, so running a step twice, or again after a crash inside it,
/// has the effect of running it once. Nothing is opened but directories: metadata of files and
/// fifos is set through their parent, so a fifo or a device in the target is never opened.
struct InPlaceSteps {
    /// The target directory and its work directory `.chainvault-restore`; owned by the caller.
    let target: Int32
    let work: Int32
    let display: String
    let applyOwner: Bool
    /// Where an owner that cannot be set is reported (a warning; the restore goes on).
    let metadata: MetadataApplier

    static let newName: [UInt8] = Array("new".utf8)
    static let rollbackName: [UInt8] = Array("rollback".utf8)

    func forward(_ step: InPlaceStep) throws {
        let parts = step.components
        switch step.kind {
        case .install:
            let newDir = try open(work, [Self.newName], create: false)
            defer { Posix.close(newDir) }
            let staged = Array(String(step.index).utf8)
            guard Posix.lstatAt(newDir, staged) != nil else { return }  // already installed
            let parent = try open(target, parts.dropLast(), create: false)
            defer { Posix.close(parent) }
            if step.hadOld, Posix.lstatAt(parent, parts[parts.count - 1]) != nil {
                try moveAside(parent, parts)
            }
            guard Posix.renameAt(newDir, staged, parent, parts[parts.count - 1]) else {
                throw Posix.error("install the restored", name(step.path))
            }
        case .remove:
            let parent = try open(target, parts.dropLast(), create: false)
            defer { Posix.close(parent) }
            if Posix.lstatAt(parent, parts[parts.count - 1]) != nil { try moveAside(parent, parts) }
        case .meta, .dir:
            if let new = step.new { try set(new, step) }
        }
    }

    func backward(_ step: InPlaceStep) throws {
        let parts = step.components
        // A parent that is gone was installed by an earlier step that a power cut undid (its
        // rename never reached the disk): nothing of this step happened either.
        if step.kind == .install || step.kind == .remove,
            (try? open(target, parts.dropLast(), create: false)).map({ Posix.close($0) }) == nil
        {
            return
        }
        switch step.kind {
        case .install:
            let newDir = try open(work, [Self.newName], create: false)
            defer { Posix.close(newDir) }
            let staged = Array(String(step.index).utf8)
            let parent = try open(target, parts.dropLast(), create: false)
            defer { Posix.close(parent) }
            let last = parts[parts.count - 1]
            if Posix.lstatAt(newDir, staged) == nil, Posix.lstatAt(parent, last) != nil,
                !Posix.renameAt(parent, last, newDir, staged)
            {
                throw Posix.error("take back the restored", name(step.path))
            }
            if step.hadOld { try putBack(parent, parts) }
        case .remove:
            let parent = try open(target, parts.dropLast(), create: false)
            defer { Posix.close(parent) }
            try putBack(parent, parts)
        case .meta, .dir:
            if let old = step.old { try set(old, step) }
        }
    }

    /// The live owner, mode and mtime of a `dir` step's directory; nil when it cannot be opened.
    func attributes(_ step: InPlaceStep) -> EntryAttributes? {
        guard let fd = try? open(target, step.components, create: false) else { return nil }
        defer { Posix.close(fd) }
        var st = stat()
        return fstat(fd, &st) == 0 ? EntryAttributes(st) : nil
    }

    /// Moves the live entry to `rollback/<path>`, creating the directories above it there.
    private func moveAside(_ parent: Int32, _ parts: [[UInt8]]) throws {
        let aside = try open(work, [Self.rollbackName] + parts.dropLast(), create: true)
        defer { Posix.close(aside) }
        let last = parts[parts.count - 1]
        guard Posix.renameAt(parent, last, aside, last) else {
            throw Posix.error("move aside", name(Array(parts.joined(separator: [47]))))
        }
    }

    private func putBack(_ parent: Int32, _ parts: [[UInt8]]) throws {
        guard let aside = try? open(work, [Self.rollbackName] + parts.dropLast(), create: false) else { return }
        defer { Posix.close(aside) }
        let last = parts[parts.count - 1]
        if Posix.lstatAt(aside, last) != nil, !Posix.renameAt(aside, last, parent, last) {
            throw Posix.error("put back", name(Array(parts.joined(separator: [47]))))
        }
    }

    /// Owner, mode and mtime; a directory is opened (never a file: it could be a fifo).
    private func set(_ a: EntryAttributes, _ step: InPlaceStep) throws {
        let time = RestoreFile.time(a.mtimeNanos)
        let parts = step.components
        let shown = name(step.path)
        if step.kind == .dir {
            let fd = FileDescriptor(adopting: try open(target, parts[...], create: false))
            let owned = !applyOwner || metadata.setOwner(fd: fd.rawValue, uid: a.uid, gid: a.gid, path: shown)
            try fd.setMode(MetadataApplier.mode(a.mode, ownerSet: owned), path: shown)
            try fd.setTimes(access: time, modification: time, path: shown)
            return
        }
        let parent = FileDescriptor(adopting: try open(target, parts.dropLast(), create: false))
        let last = parts[parts.count - 1]
        let owned = !applyOwner || metadata.setOwner(at: parent.rawValue, last, uid: a.uid, gid: a.gid, path: shown)
        try Posix.setMode(at: parent.rawValue, last, MetadataApplier.mode(a.mode, ownerSet: owned), path: shown)
        try Posix.setTimes(at: parent.rawValue, last, access: time, modification: time, path: shown)
    }

    /// Opens `root/parts…` one component at a time, never through a symlink; with `create`,
    /// missing components are made (mode 0700: only the rollback directory is created so).
    func open<C: Collection>(_ root: Int32, _ parts: C, create: Bool) throws -> Int32 where C.Element == [UInt8] {
        try openChain(root, Array(parts), create: create)
    }

    private func openChain(_ root: Int32, _ parts: [[UInt8]], create: Bool) throws -> Int32 {
        var fd = dup(root)
        if fd < 0 { throw Posix.error("open", display) }
        for part in parts {
            var next = Posix.tryOpenAt(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
            if next < 0 && errno == ENOENT && create {
                _ = FileName.withCString(part) { mkdirat(fd, $0, 0o700) }
                next = Posix.tryOpenAt(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
            }
            let e = errno
            Posix.close(fd)
            if next < 0 { throw Posix.error("open directory", display + "/" + FileName.display(part), errno: e) }
            fd = next
        }
        return fd
    }

    private func name(_ path: [UInt8]) -> String { path.isEmpty ? display : display + "/" + FileName.display(path) }
}
