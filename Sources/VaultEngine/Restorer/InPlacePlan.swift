import Glibc
import VaultCore
import VaultRepository

/// Which copy of a protected file a restore keeps when the target has one and the snapshot has one.
public enum ProtectedChoice: Sendable { case keepLive, takeSnapshot }

/// What an in-place restore will do, computed (reading only) before anything is written.
struct InPlacePlan {
    struct Build {
        let index: Int
        let node: Node
        let path: [UInt8]
        var link: Link? = nil
        /// The plan saw a regular file at `path` (through directories only): the build may reuse
        /// its bytes. Anywhere else (a new directory, a live entry of another type) it must not
        /// look: the path could lead through a file or a symlink.
        var liveFile = false
    }
    /// A name of a hardlinked file whose inode the restore has already decided: `new/<index>`
    /// becomes one more name of it instead of a rebuilt copy (as a full restore links them).
    enum Link {
        /// The build of the first name (rebuilt once).
        case built(Int)
        /// A live name of the target that is kept unchanged (its path).
        case live([UInt8])
    }
    /// The names seen so far of each hardlinked inode of the snapshot ("device:inode"): the build of
    /// the first, or the live inode that was kept for it.
    struct LinkGroup {
        let chunks: [BlobID]
        let size: UInt64
        var build: Int?
        var live: (device: UInt64, inode: UInt64, path: [UInt8])?
    }
    var linkGroups: [String: LinkGroup] = [:]
    /// Damaged files that were compared chunk by chunk, by the index of their build: the rebuild
    /// copies the chunks that matched instead of hashing them a second time.
    var comparisons: [Int: LiveComparison] = [:]
    /// install, remove and meta steps in walk order (a directory before what goes into it).
    var steps: [InPlaceStep] = []
    /// Directories whose metadata is set after every entry is in place, children before parents.
    var directorySteps: [InPlaceStep] = []
    var directoryNodes: [Node] = []
    /// What `new/<index>` must hold before the journal is written.
    var builds: [Build] = []
    /// Bytes of the files that will be rebuilt (their allocated size): the extra disk needed.
    var bytesToWrite: UInt64 = 0
    var files: UInt64 = 0
    var directories: UInt64 = 0
    var filesUnchanged: UInt64 = 0
    var filesHashed: UInt64 = 0

    var stepCount: Int { steps.count + directorySteps.count }

    mutating func install(_ node: Node, at path: [UInt8], hadOld: Bool, link: Link? = nil, liveFile: Bool = false) {
        let index = builds.count
        builds.append(Build(index: index, node: node, path: path, link: link, liveFile: liveFile))
        steps.append(InPlaceStep(kind: .install, path: path, index: index, hadOld: hadOld))
        if node.kind == .file && link == nil {
            let holes = node.zeroRuns.filter { !$0.allocated }.reduce(UInt64(0)) { $0 &+ $1.length }
            bytesToWrite &+= node.size > holes ? node.size - holes : 0
        }
    }
}

extension Node {
    /// The key of a hardlinked file's inode in the snapshot; nil for a file with one name.
    var linkKey: String? { links > 1 && inode != 0 ? "\(device):\(inode)" : nil }
}

extension EntryAttributes {
    init(_ node: Node) {
        self.init(mode: node.mode & 0o7777, uid: node.uid, gid: node.gid, mtimeNanos: node.mtimeNanos)
    }
}
