import Glibc

extension Posix {
    /// Takes `operation` (LOCK_SH, LOCK_EX, optionally | LOCK_NB) on the open file of `fd`.
    /// Returns false when LOCK_NB was given and another open file holds a conflicting lock.
    /// The corresponding C function is `flock`.
    public static func flock(_ fd: Int32, _ operation: Int32, path: String) throws -> Bool {
        if retrying({ systemFlock(fd, operation) }) == 0 { return true }
        if errno == EWOULDBLOCK { return false }
        throw error("lock", path)
    }
}

// Inside `Posix`, `flock` names the method above (and `Glibc.flock` the struct): call the C
// function from outside.
private func systemFlock(_ fd: Int32, _ operation: Int32) -> Int32 { flock(fd, operation) }
