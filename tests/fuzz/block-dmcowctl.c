// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: dmcowctl dump's and repair's reader of a metadata device
 * (md-load.c, both modes) and repair's writer (md-build.c), on a block of
 * any kind (fuzz-block.h).  Input: one byte choosing the block kind, then
 * a block target's input.
 */
#include "fuzz-block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	return fuzz_block((enum fuzz_block_kind)(data[0] % FUZZ_NR_KINDS),
			  FUZZ_DMCOWCTL, data + 1, size - 1);
}
