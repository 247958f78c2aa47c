import Glibc
import VaultCore

/// Removes `.tmp-*` files in `directories` older than `age` seconds: writes that a killed process
/// left behind. Younger ones may be another process's write in progress, so they stay. Relative to
/// descriptors opened without links, so nothing outside the repository is touched.
func removeStaleTemporaries(in directories: [RepositoryDirectory], olderThan age: Double) {
    let cutoff = time(nil) - time_t(age)
    for dir in directories {
        for name in (try? DirectoryListing.entries(of: dir.fd, path: dir.path)) ?? []
        where name.starts(with: Array(".tmp-".utf8)) {
            if let st = Posix.lstatAt(dir.fd, name), (st.st_mode & S_IFMT) == S_IFREG, st.st_mtim.tv_sec < cutoff {
                _ = try? Posix.unlinkAt(dir.fd, name, directory: false, display: dir.path)
            }
        }
    }
}

/// The same for directories outside a repository (an S3 backend's local spool), by path.
func removeStaleTemporaries(in paths: [String], olderThan age: Double) {
    let dirs = paths.compactMap { path -> RepositoryDirectory? in
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        return fd < 0 ? nil : RepositoryDirectory(fd: fd, path: path)
    }
    removeStaleTemporaries(in: dirs, olderThan: age)
}
