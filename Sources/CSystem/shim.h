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

#endif
