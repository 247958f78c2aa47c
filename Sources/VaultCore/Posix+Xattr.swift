import Glibc
internal import CSystem

/// Extended attributes and space reservation, which Swift's Glibc module does not declare.
extension Posix {
    /// The corresponding C function is `llistxattr`: NUL-separated names, or -1 and errno.
    public static func llistxattr(
        _ path: UnsafePointer<CChar>, _ list: UnsafeMutablePointer<CChar>?,
        _ size: Int
    ) -> Int {
        while true {
            let r = CSystem_llistxattr(path, list, UInt(size))
            if r >= 0 || errno != EINTR { return r }
        }
    }

    /// The corresponding C function is `lgetxattr`: the value's length, or -1 and errno.
    public static func lgetxattr(
        _ path: UnsafePointer<CChar>, _ name: UnsafePointer<CChar>,
        _ value: UnsafeMutableRawPointer?, _ size: Int
    ) -> Int {
        while true {
            let r = CSystem_lgetxattr(path, name, value, UInt(size))
            if r >= 0 || errno != EINTR { return r }
        }
    }

    /// The corresponding C function is `lsetxattr`.
    public static func lsetxattr(
        _ path: UnsafePointer<CChar>, _ name: UnsafePointer<CChar>,
        _ value: UnsafeRawPointer?, _ size: Int
    ) -> Int32 {
        retrying { CSystem_lsetxattr(path, name, value, UInt(size), 0) }
    }

    /// The corresponding C function is `fsetxattr`.
    public static func fsetxattr(
        _ fd: Int32, _ name: UnsafePointer<CChar>, _ value: UnsafeRawPointer?,
        _ size: Int
    ) -> Int32 {
        retrying { CSystem_fsetxattr(fd, name, value, UInt(size), 0) }
    }

    /// The corresponding C function is `fallocate` with mode 0: blocks reserved, reading as zeros.
    public static func fallocate(_ fd: Int32, offset: UInt64, length: UInt64) -> Int32 {
        retrying { CSystem_fallocate(fd, Int64(offset), Int64(length)) }
    }

    /// `SEEK_DATA` and `SEEK_HOLE` (<unistd.h>, _GNU_SOURCE-only; Linux values).
    public static let seekData: Int32 = 3
    public static let seekHole: Int32 = 4
}
