import Glibc
import VaultCore

/// Names chainvault itself makes inside a directory it restores into (FORMAT.md, "chainvault's
/// own names at a source root"): the in-place restore's working and rollback directory
/// `.chainvault-restore`, a staged `--path` restore's marked staging directories
/// `<name>.chainvault-staging-*`, the previous content a restore keeps (`<name>.pre-restore-*`)
/// and a drill's scratch directory (`chainvault-drill-*`). A backup of that directory must not
/// record them (restoring such a snapshot would put a stale work directory where the next restore
/// keeps its journal, or an old tree into the node's data as if it were the node's), and a
/// restore never writes them from a snapshot. Recognised by what chainvault writes into them, so a
/// user's own entry of such a name is still backed up: at the root of a source every kind, below
/// it what a `--path` restore leaves beside the entry it restored: the previous copy it keeps (an
/// outside tester found a single file's kept copy, `blocks/blk00000.dat.pre-restore-*`, backed up
/// as node data), a killed one's staging directory once it may hold the old entry, its swap note.
/// An in-place restore leaves the same entries where they are, at any depth (Restorer+InPlacePlan).
enum WorkingNames {
    static let restoreWork: [UInt8] = Array(".chainvault-restore".utf8)
    private static let staging: [UInt8] = Array(".chainvault-staging-".utf8)
    private static let swapNote: [UInt8] = Array(".chainvault-swap-".utf8)
    /// Everything the in-place restore creates inside `.chainvault-restore` (Restorer+InPlace,
    /// InPlaceSteps): the build, the rollback, the journal (while written, live, done) and the
    /// rollback copies a mount point keeps there as `previous-<time>[-N]`.
    private static let workEntries: Set<[UInt8]> =
        Set(["new", "rollback", "journal", "journal.tmp", "done", "before"].map { Array($0.utf8) })
    private static let previousPrefix: [UInt8] = Array("previous-".utf8)
    private static let stagingMarkers: [[UInt8]] =
        [".chainvault-incomplete", ".chainvault-single"].map { Array($0.utf8) }
    /// The previous content a restore keeps, `<name>.pre-restore-<time>`: a staged swap's old tree,
    /// an in-place restore's rollback directory, or a single entry's old copy (inside, under its
    /// own name). Written into it before it gets that name (Restorer+Previous).
    static let previousMarker = ".chainvault-previous"
    private static let previous: [UInt8] = Array(".pre-restore-".utf8)
    /// A restore drill's directory in the policy's scratch directory (ScratchDrill).
    static let drillPrefix = "chainvault-drill-"
    static let drillMarker = ".chainvault-drill"

    /// A staged restore's swap note, `<stem>.chainvault-swap-<time>-<rand>` beside what it
    /// restores (Restorer+SwapNote): a small regular file holding `<st_dev>:<st_ino>` and a newline.
    /// 20 digits, a colon, 20 digits and a newline at most.
    private static let swapNoteMaxSize = 42

    /// Whether `name` may be the previous copy a `--path` restore keeps beside the entry it
    /// restored, anywhere in a tree, or the staging directory of a killed one that holds such a
    /// copy, so a walk looks closer below the root; a byte comparison only, no system call for an
    /// ordinary name. (A staging directory still marked unfinished holds only a copy of the
    /// snapshot's: skipped too, and the next restore of that path removes it.)
    static func mayBeOursBelowTheRoot(_ name: [UInt8]) -> Bool {
        contains(name, previous) || contains(name, staging) || contains(name, swapNote)
    }

    /// What the entry `name` of the directory `dirFD` is when chainvault made it, else nil. At the
    /// root of a source every kind; below it only what a `--path` restore leaves beside its entry.
    static func ours(_ name: [UInt8], in dirFD: Int32, atRoot: Bool = true) -> String? {
        guard atRoot || mayBeOursBelowTheRoot(name) else { return nil }
        guard let st = Posix.lstatAt(dirFD, name) else { return nil }
        if (st.st_mode & S_IFMT) == S_IFREG, contains(name, swapNote), isSwapNote(name, in: dirFD, size: st.st_size) {
            return "the swap note of an interrupted restore of one entry (run that --path restore again, "
                + "which clears it, or remove it)"
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { return nil }
        if name == restoreWork, atRoot {
            guard let entries = list(dirFD, name) else { return nil }
            let only = entries.allSatisfy { workEntries.contains($0) || $0.starts(with: previousPrefix) }
            return only ? "the working and rollback directory of an in-place restore" : nil
        }
        if contains(name, staging), let entries = list(dirFD, name) {
            // Still marked unfinished: a copy of the snapshot's, not the node's (any depth: a
            // `--path` restore stages beside its entry).
            if entries.contains(stagingMarkers[0]) {
                return "the staging directory of an unfinished restore"
            }
            // A killed single-entry swap's staging: once its swap is done it holds the old entry,
            // as `entry` or already under its own name, beside the single marker, then marked.
            if entries.contains(Array(previousMarker.utf8))
                || (entries.contains(stagingMarkers[1]) && !entries.contains(stagingMarkers[0]))
            {
                return "the staging directory of an interrupted restore, holding the previous content"
            }
        }
        if contains(name, previous), let entries = list(dirFD, name), entries.contains(Array(previousMarker.utf8)) {
            return "the previous content kept by a restore"
        }
        if atRoot, name.starts(with: drillPrefix.utf8), let entries = list(dirFD, name),
            entries.contains(Array(drillMarker.utf8))
        {
            return "the scratch directory of an interrupted restore drill"
        }
        return nil
    }

    /// What chainvault writes into a swap note: decimal device and inode, a colon between, a newline.
    private static func isSwapNote(_ name: [UInt8], in dirFD: Int32, size: Int) -> Bool {
        guard size >= 4, size <= swapNoteMaxSize else { return false }
        let fd = Posix.tryOpenAt(dirFD, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW)
        if fd < 0 { return false }
        defer { Posix.close(fd) }
        var bytes = [UInt8](repeating: 0, count: swapNoteMaxSize + 1)
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n == size, bytes[n - 1] == 10 else { return false }
        let fields = bytes[0..<n - 1].split(separator: 58, omittingEmptySubsequences: false)
        return fields.count == 2
            && fields.allSatisfy { !$0.isEmpty && $0.count <= 20 && $0.allSatisfy { $0 >= 48 && $0 <= 57 } }
    }

    private static func list(_ dirFD: Int32, _ name: [UInt8]) -> [[UInt8]]? {
        let fd = Posix.tryOpenAt(dirFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        if fd < 0 { return nil }
        return try? DirectoryListing.entries(fd: fd, path: FileName.display(name))
    }

    private static func contains(_ name: [UInt8], _ part: [UInt8]) -> Bool {
        guard name.count > part.count else { return false }
        return (1...(name.count - part.count)).contains { name[$0..<$0 + part.count].elementsEqual(part) }
    }
}
