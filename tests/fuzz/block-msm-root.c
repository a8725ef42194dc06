// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: the metadata space map root block, through its validator, the core's
 * reads and writes and the checker (fuzz-block.h).
 */
#include "fuzz-block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_block(FUZZ_MSM_ROOT, FUZZ_CORE, data, size);
}
