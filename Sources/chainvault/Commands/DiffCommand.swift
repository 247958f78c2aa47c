import VaultCore
import VaultRepository

/// `diff A B`: what changed between two snapshots. Trees are Merkle trees in canonical order, so
/// a directory whose subtree id is the same in both is skipped unread, and each level is one
/// merge of two sorted lists: a diff of two daily snapshots of a node reads only the trees
/// along the changed paths.
enum DiffCommand: Command {
    static let name = "diff"
    static let summary = "show what changed between two snapshots"
    static let help = """
        Usage: chainvault diff SNAPSHOT1 SNAPSHOT2 [--metadata] [--json]

        Lists entries added (+), removed (-), whose content changed (M) or whose type changed (T)
        from SNAPSHOT1 to SNAPSHOT2, with sizes, then a summary. With --metadata, entries whose
        content is the same but whose mode, owner, mtime, link target or attributes changed (U)
        are listed too. Snapshots are ids, unique id prefixes, or 'latest' (the newest snapshot of one
        source, this host's first; refused with the candidates listed when several sources remain):

        \(SnapshotSelectionOptions.help)
        """
    static let spec = ArgumentSpec(
        valued: SnapshotSelectionOptions.valued, flags: ["--metadata"], positionalsAllowed: 2...2)

    struct Change: Encodable {
        let change: String
        let path: String
        let type: String
        let sizeBefore: UInt64?
        let sizeAfter: UInt64?
    }

    struct Summary: Encodable {
        var added = 0, removed = 0, modified = 0, typeChanged = 0, metadataChanged = 0
        var bytesAdded: UInt64 = 0, bytesRemoved: UInt64 = 0
    }

    struct Report: Encodable { let from: String; let to: String; let changes: [Change]; let summary: Summary }

    static func typeName(_ n: Node) -> String { ["", "file", "dir", "symlink", "fifo"][Int(n.kind.rawValue)] }

    static func run(_ c: Context) throws -> Int32 {
        let repo = try c.openRepository()
        try repo.loadIndex()
        let selection = SnapshotSelectionOptions.forReading(c.args)
        let a = try repo.resolveSnapshot(c.args.positionals[0], selecting: selection)
        let b = try repo.resolveSnapshot(c.args.positionals[1], selecting: selection)
        let codec = repo.makeCodec()
        let load = { (id: BlobID) in try repo.loadTree(id, codec: codec) }
        let (rootA, rootB) = (a.snapshot.tree, b.snapshot.tree)
        let showMetadata = c.args.flags.contains("--metadata")
        var changes: [Change] = []
        var summary = Summary()
        func record(_ kind: String, _ path: [UInt8], _ node: Node, before: Node?, after: Node?) {
            switch kind {
            case "+": summary.added += 1; summary.bytesAdded += node.size
            case "-": summary.removed += 1; summary.bytesRemoved += node.size
            case "M": summary.modified += 1
            case "T": summary.typeChanged += 1
            default: summary.metadataChanged += 1
            }
            if kind == "U" && !showMetadata { return }
            let change = Change(
                change: kind, path: FileName.display(path), type: typeName(node),
                sizeBefore: before?.size, sizeAfter: after?.size)
            if c.out.json { changes.append(change); return }
            let size =
                kind == "M"
                ? "\(Format.bytes(before!.size)) -> \(Format.bytes(after!.size))"
                : Format.bytes(node.size)
            c.out.line("\(kind)  \(change.path)\(node.kind == .directory ? "/" : "")  (\(size))")
        }
        // Everything under an added or removed directory is listed too, as restic does.
        func whole(_ kind: String, _ path: [UInt8], _ node: Node) throws {
            record(kind, path, node, before: kind == "-" ? node : nil, after: kind == "+" ? node : nil)
            guard node.kind == .directory, let sub = node.subtree else { return }
            try TreeWalker(load: load).walk(try load(sub), prefix: path) { p, n in
                record(kind, p, n, before: kind == "-" ? n : nil, after: kind == "+" ? n : nil)
                return .descend
            }
        }
        // Depth-first in canonical order, one merge of two sorted lists per level (`TreeWalker`).
        if rootA != rootB {
            try TreeWalker(load: load).walkPairs(try load(rootA), try load(rootB)) { path, a, b in
                guard let x = a else { try whole("+", path, b!); return .skipSubtree }
                guard let y = b else { try whole("-", path, x); return .skipSubtree }
                if x.kind != y.kind { record("T", path, y, before: x, after: y); return .skipSubtree }
                let metadataSame =
                    x.mode == y.mode && x.uid == y.uid && x.gid == y.gid && x.mtimeNanos == y.mtimeNanos
                    && x.xattrs == y.xattrs
                switch x.kind {
                case .directory:
                    if !metadataSame { record("U", path, y, before: x, after: y) }
                    return .descend
                case .file:
                    if x.chunks != y.chunks || x.zeroRuns != y.zeroRuns || x.size != y.size
                        || x.transform != y.transform
                    {
                        record("M", path, y, before: x, after: y)
                    } else if !metadataSame {
                        record("U", path, y, before: x, after: y)
                    }
                case .symlink where x.linkTarget != y.linkTarget:
                    record("M", path, y, before: x, after: y)
                default:
                    if !metadataSame { record("U", path, y, before: x, after: y) }
                }
                return .skipSubtree
            }
        }
        if c.out.json {
            c.out.emit(Report(from: a.id.hex, to: b.id.hex, changes: changes, summary: summary))
        } else {
            c.out.line(
                "\(summary.added) added (\(Format.bytes(summary.bytesAdded))), \(summary.removed) removed (\(Format.bytes(summary.bytesRemoved))), \(summary.modified) modified, \(summary.typeChanged) type changed, \(summary.metadataChanged) metadata changed"
            )
        }
        return 0
    }
}
