// SPDX-License-Identifier: GPL-2.0-only
/*
 * FIEMAP of one file, in ranged calls of a bounded number of extents (a
 * fragmented file does not need one huge buffer, and a file changing under
 * a live mount cannot make the kernel overrun it).
 */
#include "fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/fiemap.h>
#include <linux/fs.h>

#define FX_BATCH 128u

static int fx_push(struct fx_list *l, const struct fiemap_extent *e)
{
	if (FS_GROW(l->v, l->nr, l->cap))
		return -ENOMEM;
	l->v[l->nr].logical = e->fe_logical;
	l->v[l->nr].physical = e->fe_physical;
	l->v[l->nr].length = e->fe_length;
	l->v[l->nr].flags = e->fe_flags;
	l->nr++;
	return 0;
}

int fx_get(int fd, unsigned int flags, struct fx_list *l)
{
	struct fiemap *fm;
	uint64_t start = 0;
	unsigned int i;
	bool last = false;
	int r = 0;

	fm = malloc(sizeof(*fm) + FX_BATCH * sizeof(struct fiemap_extent));
	if (!fm)
		return -ENOMEM;
	while (!last) {
		memset(fm, 0, sizeof(*fm));
		fm->fm_start = start;
		fm->fm_length = FIEMAP_MAX_OFFSET - start;
		fm->fm_flags = (flags & FX_SYNC ? FIEMAP_FLAG_SYNC : 0) |
			       (flags & FX_XATTR ? FIEMAP_FLAG_XATTR : 0);
		fm->fm_extent_count = FX_BATCH;
		if (ioctl(fd, FS_IOC_FIEMAP, fm)) {
			r = -errno;
			break;
		}
		if (!fm->fm_mapped_extents)
			break;
		for (i = 0; i < fm->fm_mapped_extents && !r; i++) {
			const struct fiemap_extent *e = &fm->fm_extents[i];

			if (e->fe_flags & FIEMAP_EXTENT_LAST)
				last = true;
			r = fx_push(l, e);
		}
		if (r)
			break;
		/* Only the first call syncs; an xattr map is one call. */
		flags &= ~FX_SYNC;
		start = fm->fm_extents[i - 1].fe_logical + fm->fm_extents[i - 1].fe_length;
		if (flags & FX_XATTR || start <= fm->fm_start)
			break;
	}
	free(fm);
	return r;
}

void fx_free(struct fx_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}
