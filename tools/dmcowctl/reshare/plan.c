// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl reshare: the candidates.  The two volumes' mapping trees are
 * diffed under a held metadata snapshot (send/delta.c, through the core:
 * subtrees the two share are skipped unread), and every chunk both map,
 * to different data chunks, is a candidate.  Chunks mapped on one side
 * only cannot be shared: the pool shares mapped chunks.
 */
#include "offline.h"
#include "reshare/reshare.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add_candidate(struct reshare_plan *p, uint64_t vchunk,
			 const struct send_map *a, const struct send_map *b)
{
	struct reshare_chunk *c;

	if (p->nr == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 1024;
		c = realloc(p->c, p->cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		p->c = c;
	}
	c = &p->c[p->nr++];
	memset(c, 0, sizeof(*c));
	c->vchunk = vchunk;
	c->map[0] = *a;
	c->map[1] = *b;
	c->state = RESHARE_PENDING;
	return 0;
}

/* As 'dmcowctl delta': the same data chunk at another time is no change. */
static int candidate_fn(void *ctx, uint64_t vchunk, const struct send_map *a,
			const struct send_map *b)
{
	struct reshare_plan *p = ctx;

	if (a && b && a->dchunk == b->dchunk)
		return 0;
	p->delta_chunks++;
	if (!a || !b)
		return 0;
	return add_candidate(p, vchunk, a, b);
}

static int load_vol(struct send_md *md, uint64_t id, struct send_vol *sv,
		    struct reshare_vol *v)
{
	int r = send_md_volume(md, id, sv);

	if (r == -ENOENT)
		dmcowctl_err("volume %llu is not in the pool's held metadata snapshot: it was deleted meanwhile",
			     (unsigned long long)id);
	else if (r)
		dmcowctl_err("cannot read volume %llu from the metadata: %s",
			     (unsigned long long)id, strerror(-r));
	if (r)
		return r;
	v->id = sv->id;
	snprintf(v->name, sizeof(v->name), "%s", sv->name);
	v->snap_time = sv->snap_time;
	v->family = sv->family;
	return 0;
}

int reshare_plan_build(const char *meta_path, uint64_t held, uint64_t a,
		       uint64_t b, struct reshare_plan *p)
{
	struct send_md *md;
	struct send_vol *sv;
	int r;

	memset(p, 0, sizeof(*p));
	sv = calloc(2, sizeof(*sv));
	if (!sv)
		return -ENOMEM;
	r = send_md_open(meta_path, held, &md);
	if (r)
		goto out_free;
	p->chunk_sectors = send_md_chunk_sectors(md);
	r = load_vol(md, a, &sv[0], &p->vol[0]);
	if (!r)
		r = load_vol(md, b, &sv[1], &p->vol[1]);
	if (r)
		goto out;
	/* The pool shares chunks only inside a family: say so here. */
	if (p->vol[0].family != p->vol[1].family) {
		dmcowctl_err("volumes '%s' and '%s' are not of one snapshot tree: they cannot share chunks",
			     p->vol[0].name, p->vol[1].name);
		r = -EXDEV;
		goto out;
	}
	r = send_md_diff(md, &sv[0], &sv[1], candidate_fn, p);
	if (r)
		dmcowctl_err("cannot compare the mappings of volumes '%s' and '%s': %s",
			     p->vol[0].name, p->vol[1].name, strerror(-r));
out:
	send_md_close(md);
out_free:
	free(sv);
	if (r)
		reshare_plan_free(p);
	return r;
}

void reshare_plan_free(struct reshare_plan *p)
{
	free(p->c);
	p->c = NULL;
	p->nr = p->cap = 0;
}
