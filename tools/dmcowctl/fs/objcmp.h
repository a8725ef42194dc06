/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What changed in one object between two views (objcmp.c).
 */
#ifndef DMCOWCTL_FS_OBJCMP_H
#define DMCOWCTL_FS_OBJCMP_H

#include "fs.h"
#include "tree.h"

#define CHG_TYPE (1u << 0)
#define CHG_DATA (1u << 1)
#define CHG_SIZE (1u << 2)
#define CHG_MODE (1u << 3)
#define CHG_OWNER (1u << 4)
#define CHG_XATTR (1u << 5)
#define CHG_ACL (1u << 6)
#define CHG_MTIME (1u << 7)
#define CHG_CTIME (1u << 8)
#define CHG_LINKS (1u << 9)
#define CHG_TARGET (1u << 10)
#define CHG_RDEV (1u << 11)
#define CHG_NR 12

struct objcmp_maps {
	const struct vmap *a, *b;	/* chunk mappings of the two views */
	uint64_t chunk_bytes;
};

struct objcmp {
	unsigned int what;	/* CHG_* */
	struct fcmp_range *r;	/* changed byte ranges (CHG_DATA) */
	size_t nr;
	uint64_t bytes_read;	/* to verify copied chunks */
};

/*
 * Compares the object open as @fa in one view and @fb in the other (both
 * O_RDONLY for regular files, O_PATH is enough for the others).
 */
int obj_compare(int fa, int fb, const struct objcmp_maps *m, struct objcmp *o);
void objcmp_free(struct objcmp *o);
/* "data", "mode", ... of one CHG_* bit. */
const char *chg_name(unsigned int bit);

#endif
