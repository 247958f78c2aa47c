#ifndef CSYSTEM_SHIM_H
#define CSYSTEM_SHIM_H
// Only <sys/syscall.h> (macros) is included: pulling in <fcntl.h> or <unistd.h> here would make
// Swift attribute types such as mode_t to this module instead of Glibc.
#include <sys/syscall.h>
extern long syscall(long number, ...);

// Glibc declares renameat2 only under _GNU_SOURCE, which Swift's Glibc module does not define;
// RENAME_EXCHANGE lets restore swap the staged tree and the live one in a single atomic step, and
// RENAME_NOREPLACE keeps content-addressed files from ever being overwritten.
static inline int CSystem_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                                    unsigned int flags) {
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
}
static inline unsigned int CSystem_RENAME_EXCHANGE(void) { return 1u << 1; }
static inline unsigned int CSystem_RENAME_NOREPLACE(void) { return 1u << 0; }


// syncfs is also _GNU_SOURCE-only. Restore flushes a whole staged tree with one syncfs instead of
// an fsync per file (100k small files would otherwise cost 100k journal commits).
extern int syncfs(int fd);
static inline int CSystem_syncfs(int fd) { return syncfs(fd); }

// <sys/xattr.h> is not in Swift's Glibc module, and fallocate is _GNU_SOURCE-only: the raw
// syscalls (-1 and errno on failure). Extended attributes (POSIX ACLs included) are read and set by
// path with the l* calls, which never follow the entry itself when it is a symlink.
static inline long CSystem_llistxattr(const char *path, char *list, unsigned long size) {
    return syscall(SYS_llistxattr, path, list, size);
}
static inline long CSystem_lgetxattr(const char *path, const char *name, void *value, unsigned long size) {
    return syscall(SYS_lgetxattr, path, name, value, size);
}
static inline int CSystem_lsetxattr(const char *path, const char *name, const void *value, unsigned long size,
                                    int flags) {
    return (int)syscall(SYS_lsetxattr, path, name, value, size, flags);
}
static inline int CSystem_fsetxattr(int fd, const char *name, const void *value, unsigned long size, int flags) {
    return (int)syscall(SYS_fsetxattr, fd, name, value, size, flags);
}
// Mode 0: reserve blocks that read as zeros (what posix_fallocate does, without glibc's fallback of
// writing zeros when the file system cannot: a restore then leaves a hole instead).
static inline int CSystem_fallocate(int fd, long long offset, long long length) {
    return (int)syscall(SYS_fallocate, fd, 0, offset, length);
}

// openat2 (Linux >= 5.6) has no glibc wrapper: resolving a path inside a repository with
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS makes the kernel refuse every symlink and `..` on the way,
// so a planted link cannot send a read, listing or delete outside it. The struct is declared here
// (as <linux/openat2.h> does) so no kernel header pulls its types into this module.
struct CSystem_open_how { unsigned long long flags; unsigned long long mode; unsigned long long resolve; };
static inline int CSystem_openat2(int dirfd, const char *path, unsigned long long flags, unsigned long long resolve) {
    struct CSystem_open_how how = { flags, 0, resolve };
#ifdef SYS_openat2
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
#else
    return (int)syscall(437, dirfd, path, &how, sizeof how);
#endif
}
static inline unsigned long long CSystem_RESOLVE_NO_SYMLINKS(void) { return 0x04; }
static inline unsigned long long CSystem_RESOLVE_BENEATH(void) { return 0x08; }

#endif
