// SPDX-License-Identifier: GPL-2.0-only
/*
 * A volume's chunk mappings in memory (filled by pmap.c): lookups need no
 * metadata access, so the comparisons built on them (fcmp.c) are plain
 * code, unit-tested on the host (tests/cli/test-fcmp.c).
 */
#include "fs.h"

#include <stdlib.h>
#include <string.h>

void vmap_free(struct vmap *m)
{
	free(m->vchunk);
	free(m->dchunk);
	free(m->nr_others);
	free(m->with);
	free(m->sharers);
	memset(m, 0, sizeof(*m));
}

long vmap_find(const struct vmap *m, uint64_t vchunk)
{
	size_t lo = 0, hi = m->nr, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (m->vchunk[mid] < vchunk)
			lo = mid + 1;
		else if (m->vchunk[mid] > vchunk)
			hi = mid;
		else
			return (long)mid;
	}
	return -1;
}
