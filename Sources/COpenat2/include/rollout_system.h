#ifndef ROLLOUT_SYSTEM_H
#define ROLLOUT_SYSTEM_H

#include <stdint.h>

/// openat2(2) through syscall(2), which Swift cannot call (it is variadic). Returns the new
/// descriptor, or -1 with errno set (ENOSYS where the kernel has no openat2).
int rollout_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);

/// RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS from <linux/openat2.h>.
uint64_t rollout_resolve_beneath(void);

#endif
