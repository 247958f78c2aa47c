import Foundation
import VaultCore
import VaultEngine
import VaultRepository

/// `find PATTERN…`: which snapshots hold entries matching a pattern. Snapshots of one node share
/// most of their subtrees; a subtree found to hold no match is remembered by its id and never
/// read again, so searching 30 daily snapshots costs little more than searching one.
enum FindCommand: Command {
    static let name = "find"
    static let summary = "find files by name or path across snapshots"
    static let help = """
        Usage: chainvault find PATTERN... [--snapshot ID]... [--json]

        Lists, per snapshot (oldest first), the entries whose name matches a PATTERN (a glob without
        '/': 'wallet.dat', '*.ldb') or whose path under the source matches it (a glob with '/':
        'data/priv_validator_state.json', where '*' does not cross '/'). Without --snapshot every
        snapshot is searched.
        """
    static let spec = ArgumentSpec(valued: ["--snapshot"], positionalsAllowed: 1...Int.max)

    struct Match: Encodable { let path: String; let type: String; let size: UInt64; let mtime: String }
    struct Found: Encodable {
        let snapshot: String; let time: String; let host: String; let source: String; let matches: [Match]
    }

    static func run(_ c: Context) throws -> Int32 {
        let repo = try c.openRepository()
        try repo.loadIndex()
        let patterns = PathPatterns(c.args.positionals)
        let chosen = c.args.all("--snapshot")
        let records = chosen.isEmpty ? try repo.listSnapshots() : try chosen.map { try repo.resolveSnapshot($0) }
        let codec = repo.makeCodec()
        let walker = TreeWalker(repository: repo, codec: codec)
        // Subtrees (by id) under which nothing matches: skipped in every later snapshot. Only for
        // patterns on names: a path pattern's match depends on where the subtree sits.
        var barren = Set<BlobID>()
        let memoize = !patterns.patterns.contains {
            $0.trimmingCharacters(in: CharacterSet(charactersIn: "/")).contains("/")
        }
        var withMatches = 0
        var found: [Found] = []
        var total = 0
        for r in records {
            let root = r.snapshot.tree
            var matches: [Match] = []
            // Matches seen when each open directory was entered, to tell on leaving whether it held any.
            var entered: [Int] = []
            try walker.walk(
                try repo.loadTree(root, codec: codec),
                { path, node in
                    if patterns.matches(relativePath: Array(path.dropFirst()), name: node.name) {
                        let mtime = Timestamp.format(Date(timeIntervalSince1970: Double(node.mtimeNanos) / 1e9)).prefix(
                            19)
                        matches.append(
                            Match(
                                path: FileName.display(path), type: DiffCommand.typeName(node), size: node.size,
                                mtime: String(mtime)))
                    }
                    guard node.kind == .directory, let sub = node.subtree, !barren.contains(sub) else {
                        return .skipSubtree
                    }
                    entered.append(matches.count)
                    return .descend
                },
                leave: { _, node in
                    if entered.removeLast() == matches.count, memoize, let sub = node.subtree { barren.insert(sub) }
                })
            total += matches.count
            guard !matches.isEmpty else { continue }
            withMatches += 1
            if c.out.json {
                found.append(
                    Found(
                        snapshot: r.id.hex, time: Timestamp.format(r.snapshot.time), host: r.snapshot.hostname,
                        source: r.snapshot.source, matches: matches))
                continue
            }
            c.out.line(
                "snapshot \(r.shortID) of \(r.snapshot.source) at \(Timestamp.format(r.snapshot.time).prefix(19).replacingOccurrences(of: "T", with: " ")) on \(r.snapshot.hostname):"
            )
            for m in matches {
                c.out.line(
                    "  \(m.type == "dir" ? "d" : m.type == "symlink" ? "l" : m.type == "fifo" ? "p" : "-") \(String(m.size).leftPad(12))  \(m.mtime.replacingOccurrences(of: "T", with: " "))  \(m.path)"
                )
            }
        }
        if c.out.json {
            c.out.emit(found)
        } else {
            c.out.line("\(total) match(es) in \(withMatches) of \(records.count) snapshot(s)")
        }
        return 0
    }
}
