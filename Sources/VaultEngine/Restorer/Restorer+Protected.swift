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
        guard !options.protect.isEmpty, protect.matches(relativePath: snapshotPath, name: Path.base(snapshotPath)) else {
            return false
        }
        if liveIsFile && !options.overwriteProtected {
            let fd = try LiveFile.openRegular(dirFD, node.name, display: display(path))
            if fd >= 0 {
                defer { Posix.close(fd) }
                if try choosesLive(node, liveFD: fd, path: snapshotPath) {
                    protectedKept.append(snapshotPath)
                    return true
                }
            }
        }
        protectedFromSnapshot.append(snapshotPath)
        return false
    }

    /// Without a chooser the live copy always wins (it can only be newer). With one, both copies
    /// are read (bounded) and it decides; a copy too large to read keeps the live one.
    func choosesLive(_ node: Node, liveFD: Int32, path: String) throws -> Bool {
        guard let chooser = options.protectedChooser else { return true }
        guard let live = try LiveFile.readSmall(liveFD, limit: Self.protectedReadLimit, path: path),
              let snapshot = try snapshotBytes(node, limit: Self.protectedReadLimit) else { return true }
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
                throw VaultError(.corrupt, "\(path(node)): its chunks add up to more than the \(node.size) bytes the snapshot records")
            }
            out.replaceSubrange(at..<at + bytes.count, with: bytes)
            at += bytes.count
        }
        return out
    }

    private func path(_ node: Node) -> String { FileName.display(node.name) }
}
