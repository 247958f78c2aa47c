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
    }
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

    mutating func install(_ node: Node, at path: [UInt8], hadOld: Bool) {
        let index = builds.count
        builds.append(Build(index: index, node: node, path: path))
        steps.append(InPlaceStep(kind: .install, path: path, index: index, hadOld: hadOld))
        if node.kind == .file {
            let holes = node.zeroRuns.filter { !$0.allocated }.reduce(UInt64(0)) { $0 &+ $1.length }
            bytesToWrite &+= node.size > holes ? node.size - holes : 0
        }
    }
}

extension EntryAttributes {
    init(_ node: Node) {
        self.init(mode: node.mode & 0o7777, uid: node.uid, gid: node.gid, mtimeNanos: node.mtimeNanos)
    }
}
