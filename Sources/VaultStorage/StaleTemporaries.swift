import Glibc
import VaultCore

/// Removes `.tmp-*` files in `directories` older than `age` seconds: writes that a killed process
/// left behind. Younger ones may be another process's write in progress, so they stay.
func removeStaleTemporaries(in directories: [String], olderThan age: Double) {
    let cutoff = time(nil) - time_t(age)
    for dir in directories {
        for name in (try? DirectoryListing.names(dir)) ?? [] where name.hasPrefix(".tmp-") {
            if let st = try? Posix.lstat(dir + "/" + name), st.st_mtim.tv_sec < cutoff { _ = try? Posix.unlink(dir + "/" + name) }
        }
    }
}
