import Foundation
import VaultCore
import VaultRepository
import VaultStorage

public enum ReadData: Sendable, Equatable {
    case none
    case all
    /// A random share of the packs (0 < fraction ≤ 1): ⌈fraction × packs⌉ of them, so at least one
    /// whenever there are packs.
    case fraction(Double)
    /// Group k of n (1-based): packs whose first id byte mod n is k-1; n runs over n days read everything.
    case group(Int, Int)
    /// Exactly these packs (those of them that exist): the daemon's rolling verify chooses them.
    case packs([String])
}

public struct VerifyOptions: Sendable {
    public var snapshots: [String] = []
    public var readData: ReadData = .none
    public var workers: Int = Parallel.cores
    public init() {}
}

public struct Problem: Sendable, Codable {
    public let object: String
    public let message: String
}

public struct AffectedFile: Sendable, Codable, Hashable {
    public let snapshot: String
    public let path: String
    public init(snapshot: String, path: String) { self.snapshot = snapshot; self.path = path }
}

public struct VerifyReport: Sendable {
    public var snapshots = 0
    public var trees = 0
    public var files = 0
    public var packs = 0
    public var packsRead = 0
    public var bytesRead: UInt64 = 0
    public var unindexedPacks: [String] = []
    public var problems: [Problem] = []
    /// Objects that could not be read (storage failures after every retry): not damage, and not
    /// checked either, so the run is not clean.
    public var unreadable: [Problem] = []
    public var affected: [AffectedFile] = []
    /// Packs whose file is damaged (its SHA-256, its header) while every blob the index lists in
    /// them is intact: nothing is lost, and `repair packs` rewrites them (full ids).
    public var repairablePacks: [String] = []
    /// Blobs found damaged or unreachable: what the affected files are made of.
    public var damagedBlobs = 0
    public var durationSeconds = 0.0
    public var clean: Bool { problems.isEmpty && unreadable.isEmpty }
}

/// Verify: every referenced blob is indexed and its pack exists (structure); with read-data, every
/// selected pack is read whole, its hash and header checked, and every blob in it authenticated,
/// decompressed and re-hashed. Problems name the pack, the blobs, and every snapshot and file
/// path they affect.
public final class Checker {
    let repository: Repository
    let options: VerifyOptions
    let progress: JobProgress?
    var report = VerifyReport()
    /// Damaged or unreachable blobs: few (bounded by the damage), so a set.
    var badBlobs = Set<BlobID>()
    /// The index, every pack and copy (~53 bytes a blob; issue 17), its mark bit meaning "a
    /// snapshot references this blob" (or "this tree was walked").
    let table = PackTable()
    /// Referenced blobs that no index names (each is damage, so few).
    private var unindexed = Set<BlobID>()
    /// How many pack buffers (and codecs) reading the packs made: at most one per worker, however
    /// many packs were read (issue 17; `VerifyBufferTests`).
    public private(set) var packReadStates = 0

    public init(repository: Repository, options: VerifyOptions, progress: JobProgress? = nil) {
        self.repository = repository; self.options = options; self.progress = progress
    }

    func problem(_ object: String, _ message: String) {
        report.problems.append(Problem(object: object, message: message))
    }

    /// A failure to read is reported apart from damage: its cure is to read again, never to forget.
    static func isReadFailure(_ error: Error) -> Bool {
        guard let e = error as? VaultError else { return false }
        return e.code == .storageFailure || e.code == .storageFull || e.code == .interrupted
    }

    /// Files as a problem, or as unreadable when the error is a failure to read.
    private func record(_ error: Error, _ object: String, _ message: String) {
        if Self.isReadFailure(error) {
            report.unreadable.append(Problem(object: object, message: message))
        } else {
            problem(object, message)
        }
    }

    public func run() throws -> VerifyReport {
        let started = Date()
        let codec = repository.makeCodec()
        let packs = Dictionary(try repository.listPacks().map { ($0.name, $0.size) }, uniquingKeysWith: { a, _ in a })
        report.packs = packs.count

        // Index files a batch at a time (one rule for superseded files: Repository.loadIndex), into
        // `table` only, so that a damaged one is reported instead of stopping everything.
        let loaded = try repository.loadIndex(
            reportingDamage: true, intoMemory: false,
            visit: { file in
                for p in file.packs { table.add(p) }
            }, restart: { table.removeAll() })
        table.seal()
        for damaged in loaded.damaged {
            let (name, e) = (damaged.name, damaged.error)
            if Self.isReadFailure(e) {
                report.unreadable.append(
                    Problem(object: "index/\(name.prefix(8))", message: "cannot be read: " + e.message))
            } else {
                problem("index/\(name.prefix(8))", e.message + " (rebuild it with 'chainvault repair index')")
            }
        }
        for k in (0..<table.packCount).sorted(by: { table.packID($0) < table.packID($1) }) {
            let name = table.packID(k).hex, blobs = table.blobRange(k)
            guard let size = packs[name] else {
                problem(
                    "pack \(name.prefix(8))",
                    "pack is missing from storage but the index lists \(blobs.count) blobs in it")
                for i in blobs { badBlobs.insert(table.id(at: i)) }
                continue
            }
            let ends = blobs.map { (i: $0, end: table.entry(at: $0).offset + UInt64(table.storedLength(at: $0))) }
            let end = ends.map(\.end).max() ?? 0
            if end > UInt64(size) {
                problem(
                    "pack \(name.prefix(8))",
                    "pack is \(size) bytes but the index places blobs up to byte \(end): it was truncated")
                for e in ends where e.end > UInt64(size) { badBlobs.insert(table.id(at: e.i)) }
            }
        }
        report.unindexedPacks = packs.keys.filter { PackID(hex: $0).flatMap(table.ordinal(of:)) == nil }.sorted()

        // Snapshots and their trees.
        let (all, damaged) = try repository.listSnapshotsReportingDamage()
        for e in damaged { record(e, "snapshot", e.message) }
        let selected = try selectSnapshots(all)
        report.snapshots = selected.count
        for s in selected {
            let root = s.snapshot.tree
            try walk(root, path: "", snapshot: s.shortID, codec: codec) { node, _ in
                report.files += 1
                for c in node.chunks {
                    switch table.mark(c) {
                    case .new, .already: break
                    case .absent:
                        guard unindexed.insert(c).inserted else { break }
                        badBlobs.insert(c)
                        problem("blob \(c.shortHex)", "data blob referenced by a snapshot is not in any index")
                    }
                }
            }
        }

        if options.readData != .none {
            try readPacks(sizes: packs)
        }
        if !badBlobs.isEmpty { report.affected = affectedFiles(selected, codec: codec) }
        report.damagedBlobs = badBlobs.count
        report.durationSeconds = Date().timeIntervalSince(started)
        return report
    }

    private func selectSnapshots(_ all: [SnapshotRecord]) throws -> [SnapshotRecord] {
        if options.snapshots.isEmpty { return all }
        return try options.snapshots.map { try repository.resolveSnapshot($0) }
    }

    /// Depth-first over a snapshot's trees in canonical order (`TreeWalker`: iterative, the depth
    /// of a snapshot is whatever its source had), each tree once per run; calls `visit` for every
    /// file. A tree that cannot be read is recorded (naming its directory) and the walk goes on.
    private func walk(
        _ root: BlobID, path: String, snapshot: String, codec: BlobCodec,
        visit: (Node, String) -> Void
    ) throws {
        func unreadable(_ id: BlobID, _ path: String, _ error: Error) {
            if !Self.isReadFailure(error) { badBlobs.insert(id) }
            record(
                error, "tree \(id.shortHex)",
                "directory /\(path) of snapshot \(snapshot) cannot be read: \((error as? VaultError)?.message ?? "\(error)")"
            )
        }
        guard firstVisit(root) else { return }
        report.trees += 1
        let table = self.table, repository = self.repository
        let load = { (id: BlobID) in try repository.loadTree(id, from: table, codec: codec) }
        let tree: Tree
        do { tree = try load(root) } catch { unreadable(root, path, error); return }
        // The printable path of each level: names are shown one by one (`join`).
        var shown = [path]
        try TreeWalker(load: load).walk(
            tree,
            { bytes, node in
                let depth = bytes.lazy.filter { $0 == 47 }.count
                shown.removeSubrange(depth...)
                shown.append(Self.join(shown[depth - 1], node.name))
                switch node.kind {
                case .file:
                    visit(node, shown[depth])
                    progress?.add(files: 1)
                case .directory:
                    guard let sub = node.subtree, firstVisit(sub) else { return .skipSubtree }
                    report.trees += 1
                    return .descend
                case .symlink, .fifo:
                    break
                }
                return .skipSubtree
            }, damaged: { _, node, error in unreadable(node.subtree!, shown[shown.count - 1], error) })
    }

    /// True the first time a tree is met in this run (indexed or not).
    private func firstVisit(_ id: BlobID) -> Bool {
        switch table.mark(id) {
        case .new: return true
        case .already: return false
        case .absent: return unindexed.insert(id).inserted
        }
    }

    /// A printable path: names are bytes, shown with invalid UTF-8 escaped.
    static func join(_ path: String, _ name: [UInt8]) -> String {
        path.isEmpty ? FileName.display(name) : path + "/" + FileName.display(name)
    }

    private func readPacks(sizes: [String: Int]) throws {
        var names = sizes.keys.sorted()
        switch options.readData {
        case .fraction(let f):
            // A fixed count drawn at random, not a coin toss per pack: with 15 packs and 10%, tossing
            // read none in 2 of 4 runs and still said "no problems found".
            let count = min(names.count, Int((Double(names.count) * f).rounded(.up)))
            names = Array(names.shuffled().prefix(count)).sorted()
        case .packs(let chosen):
            let wanted = Set(chosen)
            names = names.filter(wanted.contains)
        case .group(let k, let n):
            names = names.filter { name in Self.group(of: name, count: n) == k }
        default:
            break
        }
        progress?.setPhase("reading packs", total: names.reduce(0) { $0 + UInt64(sizes[$1] ?? 0) })
        let buffers = PackReadBuffers(
            keepAtMost: repository.config.packSize + 2 * BlobCodec.maxDataBlob,
            make: repository.makeCodec)
        let results: [PackCheck] = try Parallel.map(
            names, workers: max(options.workers, repository.preferredConcurrency)
        ) { name in
            buffers.with { state in
                checkPack(name, indexed: PackID(hex: name).flatMap(table.ordinal(of:)).map(table.pack), state)
            }
        }
        packReadStates = buffers.made
        for (name, check) in zip(names, results) {
            if let first = check.problems.first, first.message.hasPrefix(Self.unreadableMessage) {
                report.unreadable += check.problems; continue
            }
            report.problems += check.problems
            badBlobs.formUnion(check.bad)
            report.bytesRead += check.bytes
            if check.repairable { report.repairablePacks.append(name) }
        }
        report.packsRead = names.count
    }

    /// The read-data group (1...count) of a pack: its id's first 8 bytes modulo count. Not the first
    /// byte alone: with more than 256 groups (frequent verify runs over a long window) most groups
    /// would then be empty and some packs never read.
    public static func group(of pack: String, count: Int) -> Int {
        Int((UInt64(pack.prefix(16), radix: 16) ?? 0) % UInt64(max(count, 1))) + 1
    }

    struct PackCheck {
        var problems: [Problem]
        var bad: Set<BlobID>
        var bytes: UInt64
        /// The file is damaged, every blob the index lists in it is intact (`repair packs`).
        var repairable = false
    }
    static let unreadableMessage = "cannot be read after every retry"
    static let alteredMessage = "content does not match its name (SHA-256): the file was altered or damaged in storage"

    /// Reads one pack whole and checks everything in it. Runs on a worker thread. A pack whose
    /// bytes do not match its name is read a second time (`Reread`): only damage that a second,
    /// whole read confirms is reported as damage.
    private func checkPack(_ name: String, indexed: IndexedPack?, _ state: PackReadState) -> PackCheck {
        var problems: [Problem] = []
        var bad = Set<BlobID>()
        let object = "pack \(name.prefix(8))"
        let intact: Bool
        // A listed name that is no id cannot match its content, whatever the content is.
        guard PackID(hex: name) != nil else {
            return PackCheck(problems: [Problem(object: object, message: Self.alteredMessage)], bad: [], bytes: 0)
        }
        do {
            intact = try repository.readPack(name, reusing: &state.buffer)
        } catch {
            let message = (error as? VaultError)?.message ?? "\(error)"
            if Self.isReadFailure(error) {
                // Nothing is known about these blobs: they are neither damaged nor checked.
                return PackCheck(
                    problems: [Problem(object: object, message: "\(Self.unreadableMessage): \(message)")],
                    bad: [], bytes: 0)
            }
            problems.append(Problem(object: object, message: "cannot be read: \(message)"))
            return PackCheck(problems: problems, bad: Set(indexed?.entries.map(\.id) ?? []), bytes: 0)
        }
        let bytes = state.buffer
        progress?.add(files: 1, bytes: UInt64(bytes.count))
        if !intact {
            problems.append(Problem(object: object, message: Self.alteredMessage))
        }
        // The header: authenticated, and it must agree with the index.
        do {
            let (salt, header) = try repository.openPackHeader(bytes, what: object)
            if let indexed, header != indexed.entries || salt != indexed.salt {
                problems.append(Problem(object: object, message: "header does not agree with the index"))
            }
        } catch {
            problems.append(Problem(object: object, message: (error as? VaultError)?.message ?? "\(error)"))
        }
        guard let indexed else { return PackCheck(problems: problems, bad: bad, bytes: UInt64(bytes.count)) }
        let fileDamaged = !intact  // a damaged header, or bytes between blobs: the name no longer matches
        // Every blob: authenticate, decompress, re-hash (this is what names the damaged files).
        let codec = state.codec
        for e in indexed.entries {
            let start = Int(e.offset), end = start + Int(e.storedLength)
            guard end <= bytes.count else { bad.insert(e.id); continue }
            do {
                let location = BlobLocation(pack: indexed.id, salt: indexed.salt, entry: e)
                _ = try bytes.withUnsafeBytes {
                    try repository.openBlob(
                        UnsafeRawBufferPointer(rebasing: $0[start..<end]), at: location, codec: codec)
                }
            } catch {
                bad.insert(e.id)
                problems.append(
                    Problem(object: "blob \(e.id.shortHex)", message: (error as? VaultError)?.message ?? "\(error)"))
            }
        }
        var check = PackCheck(problems: problems, bad: bad, bytes: UInt64(bytes.count))
        // The blobs are what snapshots use: a damaged header or stray bytes around intact blobs
        // lose nothing yet, and forgetting snapshots for them would destroy intact data.
        if fileDamaged, bad.isEmpty, !indexed.entries.isEmpty {
            check.repairable = true
            check.problems.append(
                Problem(
                    object: object,
                    message: "all \(indexed.entries.count) blobs the index lists in it "
                        + "are intact (each authenticated and re-hashed): only the pack file around them "
                        + "is damaged, so no snapshot uses damaged data"))
        }
        return check
    }
}
