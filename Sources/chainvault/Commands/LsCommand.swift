import Foundation
import VaultCore
import VaultEngine
import VaultRepository

enum LsCommand: Command {
    static let name = "ls"
    static let summary = "list the content of a snapshot"
    static let help = """
        Usage: chainvault ls SNAPSHOT [PATH] [--host NAME] [--source PATH] [--policy NAME] [--tag TAG] [--json]

        Lists files under PATH (default: everything) with type, mode, size and mtime.
        SNAPSHOT is an id, a unique id prefix, or 'latest' (the newest snapshot of one source, this
        host's first; refused with the candidates listed when several sources remain):

        \(SnapshotSelectionOptions.help)
        """
    static let spec = ArgumentSpec(valued: SnapshotSelectionOptions.valued, positionalsAllowed: 1...2)

    struct Row: Encodable {
        let path: String; let type: String; let mode: String; let size: UInt64; let mtime: String; let target: String?
        var incomplete: Bool? = nil
    }

    static func run(_ c: Context) throws -> Int32 {
        let repo = try c.openRepository()
        try repo.loadIndex()
        let record = try repo.resolveSnapshot(
            c.args.positionals[0], selecting: SnapshotSelectionOptions.forReading(c.args))
        let incomplete = Set((record.snapshot.incomplete ?? []).map { "/" + $0 })
        if record.snapshot.isPartial {
            c.out.warning(
                "snapshot \(record.shortID) is partial: files marked 'incomplete' could not be read completely")
        }
        let codec = repo.makeCodec()
        var tree = try repo.loadTree(record.snapshot.tree, codec: codec)
        var prefix = ""
        var rows: [Row] = []
        if c.args.positionals.count == 2 {
            // Names are bytes: the argument's raw bytes, or else `\xHH` escapes as ls prints them.
            let argument = c.args.positionals[1]
            let parts = FileName.commandLineBytes(argument).split(separator: 47, omittingEmptySubsequences: true)
                .filter { $0 != [46] }
            // Through directories only, loading just the trees along the path (`TreeWalker.follow`).
            let found = try TreeWalker(repository: repo, codec: codec).follow(parts, from: tree) { tree, part in
                let name = Array(part)
                return tree.node(named: name)
                    ?? tree.node(named: FileName.unescape(String(decoding: name, as: UTF8.self)))
            }
            guard found.count == parts.count else {
                throw VaultError(.unknownSnapshot, "path \(argument) is not in snapshot \(record.shortID)")
            }
            prefix = found.dropLast().map { "/" + FileName.display($0.name) }.joined()
            if let node = found.last {
                if node.kind == .directory, let sub = node.subtree {
                    tree = try repo.loadTree(sub, codec: codec)
                    prefix += "/" + FileName.display(node.name)
                } else {
                    tree = Tree(nodes: [node])
                }
            }
        }
        func row(_ n: Node, _ p: String) {
            let mtime = Timestamp.format(Date(timeIntervalSince1970: Double(n.mtimeNanos) / 1e9)).prefix(19)
            let target = n.kind == .symlink ? FileName.display(n.linkTarget) : nil
            let cut = incomplete.contains(p)
            rows.append(
                Row(
                    path: p, type: ["", "file", "dir", "symlink", "fifo"][Int(n.kind.rawValue)],
                    mode: String(n.mode, radix: 8),
                    size: n.size, mtime: String(mtime), target: target, incomplete: cut ? true : nil))
            if !c.out.json {
                let flag = n.kind == .directory ? "d" : n.kind == .symlink ? "l" : n.kind == .fifo ? "p" : "-"
                c.out.line(
                    "\(flag) \(String(n.mode, radix: 8).leftPad(4)) \(String(n.size).leftPad(12))  \(mtime.replacingOccurrences(of: "T", with: " "))  \(p)\(target.map { " -> " + $0 } ?? "")\(cut ? "  (incomplete)" : "")"
                )
            }
        }
        // Depth-first in canonical order (`TreeWalker`): a snapshot is as deep as its source was.
        // Names are shown one by one, as each component's bytes decode on their own.
        var shown: [String] = [prefix]
        try TreeWalker(repository: repo, codec: codec).walk(
            tree,
            { path, n in
                let depth = path.lazy.filter { $0 == 47 }.count
                shown.removeSubrange(depth...)
                shown.append(shown[depth - 1] + "/" + FileName.display(n.name))
                row(n, shown[depth])
                return .descend
            })
        if c.out.json { c.out.emit(rows) }
        return 0
    }
}
