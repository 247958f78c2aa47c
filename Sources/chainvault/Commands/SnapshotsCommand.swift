import VaultCore
import VaultEngine
import VaultRepository

enum SnapshotsCommand: Command {
    static let name = "snapshots"
    static let summary = "list snapshots"
    static let help = """
    Usage: chainvault snapshots [--json]

    Lists every snapshot, oldest first: id, time, host, source, size, tags.
    """
    static let spec = ArgumentSpec(positionalsAllowed: 0...0)

    struct Row: Encodable { let id: String; let snapshot: Snapshot }

    static func run(_ c: Context) throws -> Int32 {
        let repo = try c.openRepository()
        let (all, damaged) = try repo.listSnapshotsReportingDamage()
        for e in damaged { c.out.warning(e.message) }
        if c.out.json { c.out.emit(all.map { Row(id: $0.id, snapshot: $0.snapshot) }); return damaged.isEmpty ? 0 : ErrorCode.corrupt.rawValue }
        c.out.line("ID        Time                 Host              Size        Source")
        for r in all {
            let s = r.snapshot
            let tags = s.tags.isEmpty ? "" : "  [\(s.tags.joined(separator: ","))]"
            c.out.line("\(r.shortID)  \(s.time.prefix(19).replacingOccurrences(of: "T", with: " "))  \(s.hostname.padding(toLength: 16, withPad: " ", startingAt: 0))  \(Format.bytes(s.stats.bytesTotal).padding(toLength: 10, withPad: " ", startingAt: 0))  \(s.source)\(tags)")
        }
        c.out.line("\(all.count) snapshot(s)")
        return damaged.isEmpty ? 0 : ErrorCode.corrupt.rawValue
    }
}

enum LsCommand: Command {
    static let name = "ls"
    static let summary = "list the content of a snapshot"
    static let help = """
    Usage: chainvault ls SNAPSHOT [PATH] [--json]

    Lists files under PATH (default: everything) with type, mode, size and mtime.
    SNAPSHOT is an id, a unique id prefix, or 'latest'.
    """
    static let spec = ArgumentSpec(positionalsAllowed: 1...2)

    struct Row: Encodable { let path: String; let type: String; let mode: String; let size: UInt64; let mtime: String; let target: String? }

    static func run(_ c: Context) throws -> Int32 {
        let repo = try c.openRepository()
        try repo.loadIndex()
        let record = try repo.resolveSnapshot(c.args.positionals[0])
        let codec = repo.makeCodec()
        guard var tree = try record.snapshot.treeID.map({ try repo.loadTree($0, codec: codec) }) else {
            throw VaultError(.corrupt, "snapshot \(record.shortID) has no valid tree")
        }
        var prefix = ""
        var rows: [Row] = []
        if c.args.positionals.count == 2 {
            for part in c.args.positionals[1].split(separator: "/") where part != "." {
                guard let node = tree.node(named: Array(part.utf8)) else {
                    throw VaultError(.unknownSnapshot, "path \(c.args.positionals[1]) is not in snapshot \(record.shortID)")
                }
                prefix += "/" + part
                if node.kind == .directory, let sub = node.subtree { tree = try repo.loadTree(sub, codec: codec) }
                else { tree = Tree(nodes: [node]); prefix = String(prefix.dropLast(part.count + 1)) }
            }
        }
        func walk(_ t: Tree, _ path: String) throws {
            for n in t.nodes {
                let p = path + "/" + n.nameString
                let mtime = Timestamp.format(Date(timeIntervalSince1970: Double(n.mtimeNanos) / 1e9)).prefix(19)
                let type = ["", "file", "dir", "symlink", "fifo"][Int(n.kind.rawValue)]
                rows.append(Row(path: p, type: type, mode: String(n.mode, radix: 8),
                                size: n.size, mtime: String(mtime), target: n.kind == .symlink ? String(decoding: n.linkTarget, as: UTF8.self) : nil))
                if !c.out.json {
                    let flag = n.kind == .directory ? "d" : n.kind == .symlink ? "l" : n.kind == .fifo ? "p" : "-"
                    c.out.line("\(flag) \(String(n.mode, radix: 8).leftPad(4)) \(String(n.size).leftPad(12))  \(mtime.replacingOccurrences(of: "T", with: " "))  \(p)\(n.kind == .symlink ? " -> " + String(decoding: n.linkTarget, as: UTF8.self) : "")")
                }
                if n.kind == .directory, let sub = n.subtree { try walk(try repo.loadTree(sub, codec: codec), p) }
            }
        }
        try walk(tree, prefix)
        if c.out.json { c.out.emit(rows) }
        return 0
    }
}

import Foundation
extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
