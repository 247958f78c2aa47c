import Glibc
import VaultCore
import VaultRepository

extension Restorer {
    /// Protected files are small (signing state): both copies are read for the chooser only up to this.
    static let protectedReadLimit = 1 << 20

    /// For a file the options protect: true when its live copy (a regular file in `dirFD`) stays
    /// as it is, false when the snapshot's is restored; either is reported.
    func keepsLive(_ node: Node, path: [UInt8], in dirFD: Int32, liveIsFile: Bool) throws -> Bool {
        let snapshotPath = [unitPath, FileName.display(path)].filter { !$0.isEmpty }.joined(separator: "/")
        guard !options.protect.isEmpty, protect.matches(relativePath: snapshotPath, name: Path.base(snapshotPath))
        else {
            return false
        }
        // A live copy equal to the snapshot's is neither kept nor rolled back: the plan treats it as
        // any file (unchanged), and nothing is reported.
        if liveIsFile, let st = Posix.lstatAt(dirFD, node.name) {
            var hashed: UInt64 = 0
            if try liveEquals(node, st, in: dirFD, name: node.name, display: display(path), hashed: &hashed) {
                return false
            }
        }
        if liveIsFile && !options.overwriteProtected {
            let fd = try LiveFile.openRegular(dirFD, node.name, display: display(path))
            if fd >= 0 {
                defer { Posix.close(fd) }
                if try choosesLive(node, liveFD: fd, path: snapshotPath) {
                    protectedKept.append(snapshotPath)
                    return true
                }
                protectedFromSnapshot.append(snapshotPath)
                protectedAdvanced.append(snapshotPath)
                return false
            }
        }
        protectedFromSnapshot.append(snapshotPath)
        return false
    }

    /// A staged restore's protected file: true when the live copy at `live` was copied into the
    /// staging directory `dirFD` (and reported). A live copy equal to the snapshot's is neither kept
    /// nor rolled back: the snapshot's is written and nothing is reported.
    func keepsLiveCopy(
        _ node: Node, _ live: [UInt8], into dirFD: Int32, relativePath: String,
        snapshotPath: String
    ) throws -> Bool {
        if try liveEquals(node, at: live, display: FileName.display(live)) { return false }
        var snapshotHigher = false
        if !options.overwriteProtected,
            try copyLive(
                node, live, into: dirFD, name: node.name, relativePath: relativePath, snapshotHigher: &snapshotHigher)
        {
            protectedKept.append(snapshotPath)
            return true
        }
        protectedFromSnapshot.append(snapshotPath)
        if snapshotHigher { protectedAdvanced.append(snapshotPath) }
        return false
    }

    /// Copies a protected file's live copy (content, mode, owner, mtime) into the staged tree.
    /// Returns false when there is no live regular file to keep, or when the chooser takes the
    /// snapshot's (its signing state is higher: `snapshotHigher`).
    func copyLive(
        _ node: Node, _ livePath: [UInt8], into dirFD: Int32, name: [UInt8], relativePath: String,
        snapshotHigher: inout Bool
    ) throws -> Bool {
        let live = FileName.display(livePath)
        let opened = try LiveFile.openRegular(AT_FDCWD, livePath, display: live)
        if opened < 0 { return false }
        let src = FileDescriptor(adopting: opened)
        let st = try src.status(path: live)
        guard try choosesLive(node, liveFD: src.rawValue, path: relativePath) else {
            snapshotHigher = true
            return false
        }
        let dst = try FileDescriptor.open(
            at: dirFD, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600,
            display: relativePath)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset = 0
        while true {
            let n = try buffer.withUnsafeMutableBytes { try Posix.pread(src.rawValue, $0, offset: offset, path: live) }
            if n == 0 { break }
            try buffer.withUnsafeBytes {
                try Posix.pwriteAll(
                    dst.rawValue, UnsafeRawBufferPointer(rebasing: $0[0..<n]), offset: offset,
                    path: relativePath)
            }
            offset += n
        }
        let owned =
            !applyOwner || metadata.setOwner(fd: dst.rawValue, uid: st.st_uid, gid: st.st_gid, path: relativePath)
        try dst.setMode(MetadataApplier.mode(st.st_mode & 0o7777, ownerSet: owned), path: relativePath)
        try dst.setTimes(access: st.st_atim, modification: st.st_mtim, path: relativePath)
        try dst.close(path: relativePath)
        try src.close(path: live)
        return true
    }

    /// Without a chooser the live copy always wins (it can only be newer). With one, both copies
    /// are read (bounded) and it decides; a copy too large to read keeps the live one.
    func choosesLive(_ node: Node, liveFD: Int32, path: String) throws -> Bool {
        guard let chooser = options.protectedChooser else { return true }
        guard let live = try LiveFile.readSmall(liveFD, limit: Self.protectedReadLimit, path: path),
            let snapshot = try snapshotBytes(node, limit: Self.protectedReadLimit)
        else { return true }
        return chooser(path, live, snapshot) == .keepLive
    }

    /// A small file's content from the repository, every chunk checked; nil when it is larger.
    func snapshotBytes(_ node: Node, limit: Int) throws -> [UInt8]? {
        guard node.size <= UInt64(limit) else { return nil }
        var out = [UInt8](repeating: 0, count: Int(node.size))
        var at = 0
        var runs = node.zeroRuns[...]
        for id in node.chunks {
            while let run = runs.first, Int(run.offset) == at { at += Int(run.length); runs = runs.dropFirst() }
            var bytes = try repository.readBlob(id, codec: codec)
            node.transformChunk(&bytes, count: bytes.count, at: UInt64(at))
            guard at + bytes.count <= out.count else {
                throw VaultError(
                    .corrupt,
                    "\(path(node)): its chunks add up to more than the \(node.size) bytes the snapshot records")
            }
            out.replaceSubrange(at..<at + bytes.count, with: bytes)
            at += bytes.count
        }
        return out
    }

    private func path(_ node: Node) -> String { FileName.display(node.name) }
}
