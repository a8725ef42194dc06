// SPDX-License-Identifier: GPL-2.0-only
/*
 * One file in two volumes, compared at block level without reading it:
 * a byte of the file is shared when both sides map it to the same volume
 * offset (the same filesystem block) and that offset's chunk maps to the
 * same data chunk in both volumes.  Holes on both sides are nothing;
 * unwritten extents are data (zeroes) like any other.
 */
#include "fs.h"
#include "tree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/fiemap.h>

static bool has_blocks(const struct fx *x)
{
	return !(x->flags & (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC |
			     FIEMAP_EXTENT_DATA_INLINE | FIEMAP_EXTENT_DATA_TAIL |
			     FIEMAP_EXTENT_NOT_ALIGNED));
}

static int add_range(struct fcmp_result *res, uint64_t off, uint64_t len,
		     enum fcmp_kind kind)
{
	res->diverged += len;
	if (res->nr && res->r[res->nr - 1].kind == kind &&
	    res->r[res->nr - 1].offset + res->r[res->nr - 1].length == off) {
		res->r[res->nr - 1].length += len;
		return 0;
	}
	if (FS_GROW(res->r, res->nr, res->cap))
		return -ENOMEM;
	res->r[res->nr].offset = off;
	res->r[res->nr].length = len;
	res->r[res->nr].kind = kind;
	res->nr++;
	return 0;
}

/* Both sides map [pos, pos + len) at volume offset @phys: chunk by chunk. */
static int same_blocks(const struct fcmp_side *a, const struct fcmp_side *b,
		       uint64_t chunk_bytes, uint64_t pos, uint64_t phys,
		       uint64_t len, struct fcmp_result *res)
{
	uint64_t c, piece;
	long ia, ib;
	bool same;
	int r;

	while (len) {
		c = phys / chunk_bytes;
		piece = (c + 1) * chunk_bytes - phys;
		if (piece > len)
			piece = len;
		ia = vmap_find(a->map, c);
		ib = vmap_find(b->map, c);
		/* Both unmapped: never written in either, both read zeroes. */
		same = (ia < 0 && ib < 0) ||
		       (ia >= 0 && ib >= 0 && a->map->dchunk[ia] == b->map->dchunk[ib]);
		if (same) {
			res->shared += piece;
		} else {
			r = add_range(res, pos, piece, FCMP_COPIED);
			if (r)
				return r;
		}
		pos += piece;
		phys += piece;
		len -= piece;
	}
	return 0;
}

struct cursor {
	const struct fcmp_side *s;
	size_t i;
};

/* Skips extents ending at or before @pos and extents without blocks. */
static const struct fx *cur_at(struct cursor *c, uint64_t pos)
{
	while (c->i < c->s->nr &&
	       (!has_blocks(&c->s->fx[c->i]) ||
		c->s->fx[c->i].logical + c->s->fx[c->i].length <= pos))
		c->i++;
	return c->i < c->s->nr ? &c->s->fx[c->i] : NULL;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

int fcmp_file(const struct fcmp_side *a, const struct fcmp_side *b,
	      uint64_t chunk_bytes, struct fcmp_result *res)
{
	struct cursor ca = { .s = a }, cb = { .s = b };
	const struct fx *xa, *xb;
	uint64_t pos = 0, end, pa, pb;
	bool in_a, in_b;
	int r = 0;

	memset(res, 0, sizeof(*res));
	while (!r) {
		xa = cur_at(&ca, pos);
		xb = cur_at(&cb, pos);
		if (!xa && !xb)
			break;
		in_a = xa && xa->logical <= pos;
		in_b = xb && xb->logical <= pos;
		if (!in_a && !in_b) {	/* a hole in both */
			pos = min64(xa ? xa->logical : UINT64_MAX, xb ? xb->logical : UINT64_MAX);
			continue;
		}
		end = UINT64_MAX;
		if (xa)
			end = min64(end, in_a ? xa->logical + xa->length : xa->logical);
		if (xb)
			end = min64(end, in_b ? xb->logical + xb->length : xb->logical);
		if (in_a && in_b) {
			pa = xa->physical + (pos - xa->logical);
			pb = xb->physical + (pos - xb->logical);
			if (pa == pb && (xa->flags & FIEMAP_EXTENT_UNWRITTEN) ==
					(xb->flags & FIEMAP_EXTENT_UNWRITTEN))
				r = same_blocks(a, b, chunk_bytes, pos, pa, end - pos, res);
			else
				r = add_range(res, pos, end - pos, FCMP_MOVED);
		} else {
			r = add_range(res, pos, end - pos, FCMP_MOVED);
		}
		pos = end;
	}
	if (r)
		fcmp_free(res);
	return r;
}

void fcmp_free(struct fcmp_result *res)
{
	free(res->r);
	memset(res, 0, sizeof(*res));
}
