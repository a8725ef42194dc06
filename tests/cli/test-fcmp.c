// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the block-level comparison of one file in two volumes
 * (tools/dmcowctl/fs/fcmp.c, with fs/vmap.c): which byte ranges are
 * shared, which moved (other blocks, or data on one side only) and which
 * sit on the same blocks in a chunk that was copied.  Extents and chunk
 * maps are made up here; no kernel, no filesystem.
 *
 * Output: one PASS/FAIL line per check, last line "fcmp: N passed, N failed".
 */
#include "fs/fs.h"
#include "fs/tree.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/fiemap.h>

#define CB 65536ULL	/* chunk bytes */

static int passed, failed;

void dmcowctl_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/* A map of chunks 0..n-1 to data chunks base + i, except @skip (unmapped). */
static void make_map(struct vmap *m, size_t n, uint64_t base, long skip)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	m->vchunk = calloc(n, sizeof(*m->vchunk));
	m->dchunk = calloc(n, sizeof(*m->dchunk));
	for (i = 0; i < n; i++) {
		if ((long)i == skip)
			continue;
		m->vchunk[m->nr] = i;
		m->dchunk[m->nr] = base + i;
		m->nr++;
	}
}

/* "off+len:K off+len:K" of a result (K: M moved, C copied). */
static void describe(const struct fcmp_result *res, char *buf, size_t len)
{
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < res->nr && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%" PRIu64 "+%" PRIu64 ":%c",
				      i ? " " : "", res->r[i].offset, res->r[i].length,
				      res->r[i].kind == FCMP_COPIED ? 'C' : 'M');
}

static void expect(const char *name, const struct fx *a, size_t na,
		   const struct vmap *ma, const struct fx *b, size_t nb,
		   const struct vmap *mb, const char *ranges, uint64_t shared)
{
	struct fcmp_side sa = { .fx = a, .nr = na, .map = ma };
	struct fcmp_side sb = { .fx = b, .nr = nb, .map = mb };
	struct fcmp_result res;
	char got[512];
	int r;

	r = fcmp_file(&sa, &sb, CB, &res);
	if (r) {
		printf("FAIL %s: error %d\n", name, r);
		failed++;
		return;
	}
	describe(&res, got, sizeof(got));
	if (!strcmp(got, ranges) && res.shared == shared) {
		printf("PASS %s\n", name);
		passed++;
	} else {
		printf("FAIL %s: ranges '%s' shared %" PRIu64 ", expected '%s' shared %" PRIu64 "\n",
		       name, got, res.shared, ranges, shared);
		failed++;
	}
	fcmp_free(&res);
}

int main(void)
{
	struct vmap m, copied1, copied12, unmapped2;
	/* A 192 KiB file on chunks 1..3 (volume bytes 64K..256K). */
	const struct fx whole[] = { { 0, CB, 3 * CB, FIEMAP_EXTENT_LAST } };
	/* The same, not chunk-aligned: volume bytes 96K..288K (chunks 1..4). */
	const struct fx unaligned[] = { { 0, CB + CB / 2, 3 * CB, FIEMAP_EXTENT_LAST } };
	/* Its last 4 KiB block moved elsewhere (chunk 9). */
	const struct fx moved[] = { { 0, CB, 3 * CB - 4096, 0 },
				    { 3 * CB - 4096, 9 * CB, 4096, FIEMAP_EXTENT_LAST } };
	/* Appended: 8 KiB more in chunk 8. */
	const struct fx appended[] = { { 0, CB, 3 * CB, 0 },
				       { 3 * CB, 8 * CB, 8192, FIEMAP_EXTENT_LAST } };
	/* Sparse: 4 KiB at 1 MiB only. */
	const struct fx sparse[] = { { 1 << 20, 5 * CB, 4096, FIEMAP_EXTENT_LAST } };
	const struct fx sparse_more[] = { { 0, 6 * CB, 4096, 0 },
					  { 1 << 20, 5 * CB, 4096, FIEMAP_EXTENT_LAST } };
	const struct fx unwritten[] = { { 0, CB, 3 * CB, FIEMAP_EXTENT_UNWRITTEN | FIEMAP_EXTENT_LAST } };
	const struct fx delalloc[] = { { 0, 0, 3 * CB, FIEMAP_EXTENT_DELALLOC | FIEMAP_EXTENT_LAST } };

	make_map(&m, 16, 100, -1);
	make_map(&copied1, 16, 100, -1);
	copied1.dchunk[2] = 500;	/* chunk 2 copied on one side */
	make_map(&copied12, 16, 100, -1);
	copied12.dchunk[2] = 500;	/* chunks 2 and 3 copied */
	copied12.dchunk[3] = 501;
	make_map(&unmapped2, 16, 100, 2);

	expect("identical", whole, 1, &m, whole, 1, &m, "", 3 * CB);
	expect("one chunk copied", whole, 1, &m, whole, 1, &copied1, "65536+65536:C", 2 * CB);
	expect("unaligned, one chunk copied", unaligned, 1, &m, unaligned, 1, &copied1,
	       "32768+65536:C", 2 * CB);
	expect("last block moved", whole, 1, &m, moved, 2, &m, "192512+4096:M", 3 * CB - 4096);
	expect("appended", whole, 1, &m, appended, 2, &m, "196608+8192:M", 3 * CB);
	expect("truncated (other way round)", appended, 2, &m, whole, 1, &m, "196608+8192:M",
	       3 * CB);
	expect("holes on both sides are nothing", sparse, 1, &m, sparse, 1, &m, "", 4096);
	expect("data where the other has a hole", sparse, 1, &m, sparse_more, 2, &m,
	       "0+4096:M", 4096);
	expect("unmapped on one side only", whole, 1, &m, whole, 1, &unmapped2,
	       "65536+65536:C", 2 * CB);
	expect("unmapped on both sides (never written)", whole, 1, &unmapped2, whole, 1,
	       &unmapped2, "", 3 * CB);
	expect("unwritten against written", whole, 1, &m, unwritten, 1, &m, "0+196608:M", 0);
	expect("delalloc has no blocks yet", whole, 1, &m, delalloc, 1, &m, "0+196608:M", 0);
	expect("a copied chunk and a moved block", whole, 1, &copied1, moved, 2, &m,
	       "65536+65536:C 192512+4096:M", 2 * CB - 4096);
	expect("adjacent copied chunks merge", whole, 1, &m, whole, 1, &copied12,
	       "65536+131072:C", CB);

	printf("fcmp: %d passed, %d failed\n", passed, failed);
	vmap_free(&m);
	vmap_free(&copied1);
	vmap_free(&copied12);
	vmap_free(&unmapped2);
	return failed ? 1 : 0;
}
