#ifndef ROLLOUT_CMALLOC_SHIM_H
#define ROLLOUT_CMALLOC_SHIM_H

// glibc's allocator statistics (mallinfo2), which the Glibc module does not export: tests use
// them to prove that a loop of calls leaves the heap as it found it.
#include <malloc.h>

#endif
