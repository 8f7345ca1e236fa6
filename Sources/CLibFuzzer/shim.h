#ifndef ROLLOUT_CLIBFUZZER_SHIM_H
#define ROLLOUT_CLIBFUZZER_SHIM_H

#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver (compiler-rt, linked by -sanitize=fuzzer). rollout-fuzz has its own main,
// so it starts the fuzzer through this rather than through libFuzzer's main.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
