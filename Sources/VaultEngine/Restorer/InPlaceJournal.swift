import Glibc
import VaultCore
import VaultRepository

/// Owner, mode and mtime of an entry, as an in-place restore sets them without opening it.
struct EntryAttributes: Equatable {
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var mtimeNanos: Int64

    init(mode: UInt32, uid: UInt32, gid: UInt32, mtimeNanos: Int64) {
        self.mode = mode; self.uid = uid; self.gid = gid; self.mtimeNanos = mtimeNanos
    }

    init(_ st: stat) {
        mode = UInt32(st.st_mode & 0o7777); uid = st.st_uid; gid = st.st_gid
        mtimeNanos = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
    }

    var text: String { "\(String(mode, radix: 8)):\(uid):\(gid):\(mtimeNanos)" }

    init?(text: Substring) {
        let f = text.split(separator: ":", omittingEmptySubsequences: false)
        guard f.count == 4, let m = UInt32(f[0], radix: 8), m <= 0o7777, let u = UInt32(f[1]), let g = UInt32(f[2]),
            let t = Int64(f[3])
        else { return nil }
        self.init(mode: m, uid: u, gid: g, mtimeNanos: t)
    }
}

/// One step of an in-place restore (FORMAT.md, "In-place restore"). Every step is idempotent and
/// its progress is visible in the file system, so the journal is written once, before the first
/// step, and never rewritten.
struct InPlaceStep: Equatable {
    enum Kind: String { case install, remove, meta, dir }
    var kind: Kind
    /// Relative to the target, components joined by `/` (bytes); empty for the target itself.
    var path: [UInt8]
    /// install: the entry `new/<index>` of the work directory.
    var index = 0
    /// install: whether a live entry is moved to `rollback/<path>` first.
    var hadOld = false
    /// meta and dir: what rollback puts back (nil for a directory the restore created).
    var old: EntryAttributes?
    /// meta and dir: what the snapshot records.
    var new: EntryAttributes?

    var components: [[UInt8]] { path.split(separator: 47).map(Array.init) }
}

/// The plan of an in-place restore, stored as `<target>/.chainvault-restore/journal`: a text file
/// with one step a line (paths as hex, since they are bytes) and a final SHA-256 line, so a journal
/// that is not whole is never acted on.
struct InPlaceJournal: Equatable {
    static let header = "chainvault in-place restore journal 1"
    var snapshotID: String
    var steps: [InPlaceStep]

    /// What the target directory itself ends with: the work directory inside it is removed after
    /// the last step, which changes its mtime, so that is set once more at the very end.
    var rootAttributes: EntryAttributes? { steps.last { $0.kind == .dir && $0.path.isEmpty }?.new }

    func encoded() -> [UInt8] {
        var lines = [Self.header, "snapshot \(snapshotID)"]
        for s in steps {
            let p = "p" + Hex.encode(s.path)
            switch s.kind {
            case .install: lines.append("install \(s.index) \(s.hadOld ? 1 : 0) \(p)")
            case .remove: lines.append("remove \(p)")
            case .meta, .dir: lines.append("\(s.kind.rawValue) \(p) \(s.old?.text ?? "-") \(s.new?.text ?? "-")")
            }
        }
        let body = Array((lines.joined(separator: "\n") + "\n").utf8)
        return body + Array("end \(SHA256.hash(body).hex)\n".utf8)
    }

    /// nil when the bytes are not a whole journal of this version.
    static func decode(_ bytes: [UInt8]) -> InPlaceJournal? {
        guard let endAt = lastLineStart(bytes), endAt > 0 else { return nil }
        let body = Array(bytes[0..<endAt])
        guard String(decoding: bytes[endAt...], as: UTF8.self) == "end \(SHA256.hash(body).hex)\n" else { return nil }
        let lines = String(decoding: body, as: UTF8.self).split(separator: "\n")
        guard lines.count >= 2, lines[0] == header, lines[1].hasPrefix("snapshot ") else { return nil }
        var journal = InPlaceJournal(snapshotID: String(lines[1].dropFirst(9)), steps: [])
        for line in lines.dropFirst(2) {
            let f = line.split(separator: " ")
            guard let first = f.first, let kind = InPlaceStep.Kind(rawValue: String(first)) else { return nil }
            let counts: [InPlaceStep.Kind: Int] = [.install: 4, .remove: 2, .meta: 4, .dir: 4]
            let pathField = kind == .install ? 3 : 1
            guard f.count == counts[kind], f[pathField].hasPrefix("p"),
                let path = Hex.decode(String(f[pathField].dropFirst()))
            else { return nil }
            var step = InPlaceStep(kind: kind, path: path)
            switch kind {
            case .install:
                guard let i = Int(f[1]), i >= 0, f[2] == "0" || f[2] == "1" else { return nil }
                step.index = i; step.hadOld = f[2] == "1"
            case .remove: break
            case .meta, .dir:
                step.old = f[2] == "-" ? nil : EntryAttributes(text: f[2])
                step.new = EntryAttributes(text: f[3])
                if (f[2] != "-" && step.old == nil) || step.new == nil { return nil }
            }
            guard step.components.allSatisfy(Node.isSafeName) else { return nil }
            journal.steps.append(step)
        }
        return journal
    }

    private static func lastLineStart(_ bytes: [UInt8]) -> Int? {
        guard bytes.last == 10, bytes.count >= 2 else { return nil }
        var i = bytes.count - 2
        while i >= 0 && bytes[i] != 10 { i -= 1 }
        return i + 1
    }
}
