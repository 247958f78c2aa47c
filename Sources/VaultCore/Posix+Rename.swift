internal import CSystem
import Glibc

/// Renames between directory descriptors with names as bytes, for restores that move entries
/// inside a target whose paths may be deeper than PATH_MAX or not UTF-8.
extension Posix {
    /// Moves `from` in `fromDir` to `to` in `toDir`, never replacing an existing `to`. Returns false
    /// (errno set) when it fails. The corresponding C function is `renameat2(…, RENAME_NOREPLACE)`.
    public static func renameAt(_ fromDir: Int32, _ from: [UInt8], _ toDir: Int32, _ to: [UInt8]) -> Bool {
        let r = FileName.withCString(from) { f in
            FileName.withCString(to) { t in
                retrying { CSystem_renameat2(fromDir, f, toDir, t, CSystem_RENAME_NOREPLACE()) }
            }
        }
        return r == 0
    }
}
