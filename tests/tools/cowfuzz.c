// SPDX-License-Identifier: GPL-2.0-only
/*
 * cowfuzz: metadata corruption generator for dm-cowtree pool images, and a
 * lenient pattern verifier for the kernel fuzz scenario.
 *
 *   cowfuzz classify IMG
 *	Walk the last commit from the superblock and print every reachable
 *	block as "<block> <class>", then one "count <class> <n>" line per
 *	class.  Classes: sb msm-root msm-index msm-rc dsm-rc held, and
 *	<tree>-<leaf|internal> for the btrees (map, vol, dead, dsm).
 *
 *   cowfuzz corrupt IMG OUT --case N [--seed S] [--old OLDIMG]
 *		[--class C] [--how H]
 *	Copy IMG to OUT and apply corruption case N (deterministic for a
 *	seed): kind H and class C rotate with N unless given.  Prints one
 *	line: "case N how=H class=C block=B strict=0|1 <detail>".  strict=1
 *	means the damage is on a reachable block and is caught by the format
 *	(checksum, type, location, stamp, header sanity, device size): every
 *	reader must notice it.  strict=0 (how=field: a bit flipped in a
 *	block's payload with the checksum recomputed) may be undetectable by
 *	design (e.g. a different data chunk in a mapping); readers must still
 *	never crash.  Kinds:
 *	  flip    1-8 random bits of the checksummed area flipped
 *	  zero    the block zeroed
 *	  dup     the block overwritten by another block of the same class
 *		  (or type): a misdirected write
 *	  stale   an older version of the block: from OLDIMG when it holds a
 *		  different valid block of the same type there, otherwise the
 *		  block with an older stamp and a recomputed checksum
 *	  header  a bit of the header or btree node header flipped, checksum
 *		  recomputed (type, location, stamp, flags, sizes)
 *	  trunc   OUT truncated below the pool's metadata size
 *	  field   a payload bit flipped, checksum recomputed (strict=0); in
 *		  btree nodes, a bit of a key or value in use
 *
 *   cowfuzz verify DEV MAPFILE [--image META --data DATA --volume ID]
 *		[--save FILE]
 *	Read every block named in MAPFILE (lines as 'cowpattern write
 *	--record' writes them: "write tag=T gen=G offset=O length=L stride=S",
 *	later lines win) and print "ok N ioerr N wrong N explained N".  A
 *	block is wrong when it does not hold its pattern.  With --image, the
 *	metadata image DEV's pool was activated on (DATA its data device),
 *	a wrong block is explained when the image itself says so: its
 *	content is that of a data chunk which an entry of volume ID's
 *	mapping tree maps the block's chunk to (every record of ID in the
 *	volumes tree, every leaf with a valid checksum, whatever the key
 *	order), or zeros when no such entry exists or the volumes or mapping
 *	tree is out of key order (a lookup may then miss).  This is cowfuzz's
 *	own reading of the format, not the core's.  Exit 0 when every wrong
 *	block is explained (none without --image; read errors are allowed),
 *	1 otherwise, 2 on usage errors.  --save FILE: write every block read
 *	to FILE at its offset (a copy to verify again later, as DEV).
 *
 * Exit status of classify/corrupt: 0 ok, 1 the image cannot be walked, 2
 * usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <isa-l/crc.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cow-format.h"

#define BS COW_METADATA_BLOCK_SIZE

static const char *prog = "cowfuzz";

static void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s classify IMG | corrupt IMG OUT --case N [--seed S] [--old IMG] [--class C] [--how H] | verify DEV MAPFILE [--image META --data DATA --volume ID] [--save FILE]\n",
		prog);
	exit(2);
}

/* ---- CRC32C, kernel convention (no inversion): isa-l's crc32_iscsi() ---- */

static uint32_t crc32c_raw(uint32_t c, const void *buf, size_t len)
{
	return crc32_iscsi((unsigned char *)buf, (int)len, c);
}

/* ---- PRNG ---- */

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t rng_state;

static uint64_t rnd(uint64_t n)
{
	rng_state = splitmix64(rng_state);
	return n ? rng_state % n : 0;
}

/* ---- image ---- */

struct image {
	uint8_t *data;
	uint64_t nr_blocks;
	size_t size;
};

static int image_load(const char *path, struct image *img)
{
	struct stat st;
	ssize_t n;
	size_t done = 0;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		return -1;
	}
	img->size = (size_t)st.st_size;
	if (S_ISBLK(st.st_mode)) {
		uint64_t sz;

		if (ioctl(fd, BLKGETSIZE64, &sz)) {
			fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
			close(fd);
			return -1;
		}
		img->size = sz;
	}
	img->nr_blocks = img->size / BS;
	img->data = calloc(1, img->size + BS);
	if (!img->data) {
		close(fd);
		return -1;
	}
	while (done < img->size) {
		n = read(fd, img->data + done, img->size - done);
		if (n <= 0) {
			fprintf(stderr, "%s: %s: short read\n", prog, path);
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	close(fd);
	return 0;
}

static uint8_t *blk(struct image *img, uint64_t b)
{
	return img->data + b * BS;
}

static const struct {
	uint32_t type, salt;
	size_t len;
} type_info[] = {
	{ COW_BT_SUPERBLOCK, COW_SALT_SUPERBLOCK, COW_SB_SIZE },
	{ COW_BT_NODE, COW_SALT_NODE, BS },
	{ COW_BT_MSM_ROOT, COW_SALT_MSM_ROOT, BS },
	{ COW_BT_MSM_INDEX, COW_SALT_MSM_INDEX, BS },
	{ COW_BT_MSM_RC, COW_SALT_MSM_RC, BS },
	{ COW_BT_DSM_RC, COW_SALT_DSM_RC, BS },
	{ COW_BT_HELD, COW_SALT_HELD, BS },
};

static int type_slot(uint32_t type)
{
	for (unsigned int i = 0; i < sizeof(type_info) / sizeof(type_info[0]); i++)
		if (type_info[i].type == type)
			return (int)i;
	return -1;
}

static uint32_t block_type(const uint8_t *p)
{
	return le32_to_cpu(((const struct cow_disk_block_header *)p)->type);
}

static uint64_t block_txn(const uint8_t *p)
{
	return le64_to_cpu(((const struct cow_disk_block_header *)p)->txn);
}

/*
 * Checksum seed of every block but the superblock: the pool's, derived from
 * its uuid (INCOMPAT_UUID_CSUM), set once the image's superblock is read.
 */
static uint32_t pool_seed = ~0u;

/* The seed of a block: the superblock carries its own (cow-format.c). */
static uint32_t seed_of(const uint8_t *p, uint32_t type)
{
	const struct cow_disk_superblock *sb = (const void *)p;

	if (type != COW_BT_SUPERBLOCK)
		return pool_seed;
	if (!(le64_to_cpu(sb->incompat_flags) & COW_FEATURE_INCOMPAT_UUID_CSUM))
		return ~0u;
	return crc32c_raw(~0u, sb->uuid, sizeof(sb->uuid));
}

/* Recompute the checksum of a block of type @type. */
static void fix_csum(uint8_t *p, uint32_t type)
{
	int s = type_slot(type);
	struct cow_disk_block_header *h = (void *)p;

	if (s < 0)
		return;
	h->csum = cpu_to_le32(crc32c_raw(seed_of(p, type), p + 4,
					 type_info[s].len - 4) ^
			      type_info[s].salt);
}

static bool csum_ok(const uint8_t *p)
{
	const struct cow_disk_block_header *h = (const void *)p;
	int s = type_slot(block_type(p));

	if (s < 0)
		return false;
	return le32_to_cpu(h->csum) ==
	       (crc32c_raw(seed_of(p, block_type(p)), p + 4,
			   type_info[s].len - 4) ^ type_info[s].salt);
}

/* ---- walking the last commit ---- */

enum cls {
	C_SB, C_MSM_ROOT, C_MSM_INDEX, C_MSM_RC, C_DSM_RC, C_HELD,
	C_MAP_LEAF, C_MAP_INT, C_VOL_LEAF, C_VOL_INT, C_DEAD_LEAF, C_DEAD_INT,
	C_DSM_LEAF, C_DSM_INT, NR_CLASSES
};

static const char *const cls_name[NR_CLASSES] = {
	"sb", "msm-root", "msm-index", "msm-rc", "dsm-rc", "held",
	"map-leaf", "map-internal", "vol-leaf", "vol-internal",
	"dead-leaf", "dead-internal", "dsm-leaf", "dsm-internal",
};

struct walk {
	struct image *img;
	signed char *cls;	/* per block: class or -1 */
	uint64_t count[NR_CLASSES];
	int errors;
};

static void walk_err(struct walk *w, const char *fmt, ...)
{
	va_list ap;

	w->errors++;
	fprintf(stderr, "%s: walk: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Mark block @b as @c; false if it cannot be used (or was seen). */
static bool visit(struct walk *w, uint64_t b, uint32_t type, enum cls c)
{
	if (!b || b >= w->img->nr_blocks) {
		walk_err(w, "%s block %" PRIu64 " out of range", cls_name[c], b);
		return false;
	}
	if (w->cls[b] >= 0)
		return false;	/* shared subtree, already walked */
	if (block_type(blk(w->img, b)) != type || !csum_ok(blk(w->img, b))) {
		walk_err(w, "%s block %" PRIu64 " is not valid", cls_name[c], b);
		return false;
	}
	w->cls[b] = (signed char)c;
	w->count[c]++;
	return true;
}

static void walk_tree(struct walk *w, uint64_t root, uint32_t tree);

static void walk_volume_value(struct walk *w, const struct cow_disk_volume *v)
{
	if (le64_to_cpu(v->mapping.blocknr))
		walk_tree(w, le64_to_cpu(v->mapping.blocknr), COW_TREE_MAPPING);
}

static void walk_tree(struct walk *w, uint64_t root, uint32_t tree)
{
	static const enum cls leaf_cls[] = { 0, C_MAP_LEAF, C_VOL_LEAF, C_DEAD_LEAF, C_DSM_LEAF };
	struct cow_disk_node_header *n;
	uint32_t nr, max, vs, i;
	uint8_t *p, *vals;
	bool leaf;

	if (tree < 1 || tree > 4)
		return;
	if (root >= w->img->nr_blocks || !root) {
		walk_err(w, "tree %u node %" PRIu64 " out of range", tree, root);
		return;
	}
	p = blk(w->img, root);
	n = (void *)p;
	leaf = le32_to_cpu(n->flags) == COW_NODE_LEAF;
	if (!visit(w, root, COW_BT_NODE, leaf_cls[tree] + (leaf ? 0 : 1)))
		return;
	nr = le32_to_cpu(n->nr_entries);
	max = le32_to_cpu(n->max_entries);
	vs = le32_to_cpu(n->value_size);
	if (nr > max || 48 + (uint64_t)max * (8 + vs) > BS) {
		walk_err(w, "node %" PRIu64 ": bad header", root);
		return;
	}
	vals = p + 48 + 8 * max;
	for (i = 0; i < nr; i++) {
		uint8_t *v = vals + (size_t)i * vs;

		if (!leaf) {
			walk_tree(w, le64_to_cpu(((struct cow_disk_root *)v)->blocknr), tree);
			continue;
		}
		if (tree == COW_TREE_VOLUMES) {
			walk_volume_value(w, (void *)v);
		} else if (tree == COW_TREE_DEAD) {
			struct cow_disk_dead *d = (void *)v;
			uint64_t b = le64_to_cpu(d->root.blocknr);

			if (b)
				walk_tree(w, b, le32_to_cpu(d->kind) == COW_DEAD_VOLUMES ?
					  COW_TREE_VOLUMES : COW_TREE_MAPPING);
		} else if (tree == COW_TREE_DSM_INDEX) {
			struct cow_disk_index_entry *e = (void *)v;

			if (le64_to_cpu(e->blocknr))
				visit(w, le64_to_cpu(e->blocknr), COW_BT_DSM_RC, C_DSM_RC);
		}
	}
}

static int walk_image(struct image *img, struct walk *w)
{
	struct cow_disk_superblock *sb = (void *)blk(img, 0);
	struct cow_disk_msm_root *mr;
	uint64_t b;

	memset(w, 0, sizeof(*w));
	w->img = img;
	w->cls = malloc(img->nr_blocks);
	if (!w->cls)
		return -1;
	memset(w->cls, -1, img->nr_blocks);
	if (img->nr_blocks < 2 || block_type(blk(img, 0)) != COW_BT_SUPERBLOCK ||
	    !csum_ok(blk(img, 0)) || le64_to_cpu(sb->magic) != COW_SB_MAGIC) {
		walk_err(w, "no valid superblock");
		return -1;
	}
	w->cls[0] = C_SB;
	w->count[C_SB] = 1;
	pool_seed = seed_of(blk(img, 0), COW_BT_SUPERBLOCK);

	b = le64_to_cpu(sb->msm_root.blocknr);
	if (visit(w, b, COW_BT_MSM_ROOT, C_MSM_ROOT)) {
		uint32_t i, j, nr;

		mr = (void *)blk(img, b);
		nr = le32_to_cpu(mr->nr_index);
		for (i = 0; i < nr && i < COW_MSM_ROOT_ENTRIES; i++) {
			struct cow_disk_msm_index *ix;
			uint64_t ib = le64_to_cpu(mr->index[i].blocknr);

			if (!visit(w, ib, COW_BT_MSM_INDEX, C_MSM_INDEX))
				continue;
			ix = (void *)blk(img, ib);
			for (j = 0; j < COW_MSM_INDEX_ENTRIES; j++)
				if (le64_to_cpu(ix->entries[j].blocknr))
					visit(w, le64_to_cpu(ix->entries[j].blocknr),
					      COW_BT_MSM_RC, C_MSM_RC);
		}
	}
	if (le64_to_cpu(sb->dsm_root.blocknr))
		walk_tree(w, le64_to_cpu(sb->dsm_root.blocknr), COW_TREE_DSM_INDEX);
	if (le64_to_cpu(sb->volumes_root.blocknr))
		walk_tree(w, le64_to_cpu(sb->volumes_root.blocknr), COW_TREE_VOLUMES);
	if (le64_to_cpu(sb->dead_root.blocknr))
		walk_tree(w, le64_to_cpu(sb->dead_root.blocknr), COW_TREE_DEAD);
	b = le64_to_cpu(sb->held_root.blocknr);
	if (b && visit(w, b, COW_BT_HELD, C_HELD)) {
		struct cow_disk_held *h = (void *)blk(img, b);

		if (le64_to_cpu(h->volumes_root.blocknr))
			walk_tree(w, le64_to_cpu(h->volumes_root.blocknr), COW_TREE_VOLUMES);
	}
	return w->errors ? -1 : 0;
}

static int cmd_classify(int argc, char **argv)
{
	struct image img;
	struct walk w;
	uint64_t b;
	int c;

	if (argc != 1)
		usage_error("classify needs IMG");
	if (image_load(argv[0], &img) || walk_image(&img, &w))
		return 1;
	for (b = 0; b < img.nr_blocks; b++)
		if (w.cls[b] >= 0)
			printf("%" PRIu64 " %s\n", b, cls_name[w.cls[b]]);
	for (c = 0; c < NR_CLASSES; c++)
		printf("count %s %" PRIu64 "\n", cls_name[c], w.count[c]);
	return 0;
}

/* ---- corruption ---- */

enum how { H_FLIP, H_ZERO, H_DUP, H_STALE, H_HEADER, H_TRUNC, H_FIELD, NR_HOW };

static const char *const how_name[NR_HOW] = {
	"flip", "zero", "dup", "stale", "header", "trunc", "field",
};

/* The @k-th (mod count) block of class @c, or of any class if none. */
static uint64_t pick_block(struct walk *w, int c)
{
	uint64_t b, k, n = 0;

	k = rnd(w->count[c]);
	for (b = 0; b < w->img->nr_blocks; b++)
		if (w->cls[b] == c && n++ == k)
			return b;
	return 0;
}

/*
 * A byte of a btree node's entries in use (a key or a value), so that the
 * flip reaches the decoders; past the header if the node has none.
 */
static size_t node_entry_byte(const uint8_t *p)
{
	const struct cow_disk_node_header *n = (const void *)p;
	uint32_t nr = le32_to_cpu(n->nr_entries), max = le32_to_cpu(n->max_entries);
	uint32_t vs = le32_to_cpu(n->value_size), e;
	size_t keys = sizeof(*n);

	if (!nr || nr > max || keys + (size_t)max * (8 + vs) > BS)
		return keys + rnd(BS - keys);
	e = (uint32_t)rnd(nr);
	if (rnd(8 + vs) < 8)
		return keys + (size_t)e * 8 + rnd(8);
	return keys + (size_t)max * 8 + (size_t)e * vs + rnd(vs);
}

static bool in_header_field(uint32_t type, size_t off)
{
	/* type, blocknr, txn of every block (not csum: that is "flip") */
	if (off >= 4 && off < 24)
		return true;
	/* btree node header: flags, nr_entries, max_entries, value_size, tree */
	return type == COW_BT_NODE && off >= 24 && off < 44;
}

static int cmd_corrupt(int argc, char **argv)
{
	const char *in = NULL, *out = NULL, *old_path = NULL;
	int want_class = -1, want_how = -1, c, how;
	uint64_t kase = 0, seed = 1, b, other;
	bool have_case = false, strict = true;
	struct image img, old = { 0 };
	char detail[256] = "";
	uint64_t out_size;
	struct walk w;
	uint8_t *p;
	size_t len;
	FILE *f;
	int i;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--case") && i + 1 < argc) {
			kase = strtoull(argv[++i], NULL, 0);
			have_case = true;
		} else if (!strcmp(a, "--seed") && i + 1 < argc) {
			seed = strtoull(argv[++i], NULL, 0);
		} else if (!strcmp(a, "--old") && i + 1 < argc) {
			old_path = argv[++i];
		} else if (!strcmp(a, "--class") && i + 1 < argc) {
			const char *v = argv[++i];

			for (c = 0; c < NR_CLASSES; c++)
				if (!strcmp(v, cls_name[c]))
					want_class = c;
			if (want_class < 0)
				usage_error("unknown class '%s'", v);
		} else if (!strcmp(a, "--how") && i + 1 < argc) {
			const char *v = argv[++i];

			for (c = 0; c < NR_HOW; c++)
				if (!strcmp(v, how_name[c]))
					want_how = c;
			if (want_how < 0)
				usage_error("unknown kind '%s'", v);
		} else if (a[0] == '-') {
			usage_error("bad option '%s'", a);
		} else if (!in) {
			in = a;
		} else if (!out) {
			out = a;
		} else {
			usage_error("too many arguments");
		}
	}
	if (!in || !out || !have_case)
		usage_error("corrupt needs IMG OUT --case N");
	if (image_load(in, &img) || walk_image(&img, &w))
		return 1;
	if (old_path && image_load(old_path, &old))
		return 1;
	rng_state = splitmix64(seed) ^ splitmix64(kase * 0x9e37ull + 17);

	/* Rotate over the kinds, and over the classes the image has. */
	how = want_how >= 0 ? want_how : (int)(kase % NR_HOW);
	c = want_class;
	if (c < 0) {
		int present[NR_CLASSES], np = 0;

		for (c = 0; c < NR_CLASSES; c++)
			if (w.count[c])
				present[np++] = c;
		c = present[(kase / NR_HOW) % (uint64_t)np];
	}
	if (!w.count[c]) {
		fprintf(stderr, "%s: the image has no %s block\n", prog, cls_name[c]);
		return 1;
	}
	b = pick_block(&w, c);
	p = blk(&img, b);
	len = b == 0 ? COW_SB_SIZE : BS;
	out_size = img.size;

	switch (how) {
	case H_FLIP: {
		unsigned int nbits = 1 + (unsigned int)rnd(8), k;
		uint8_t orig[BS];

		memcpy(orig, p, BS);
		for (k = 0; k < nbits; k++) {
			size_t bit = rnd(len * 8);

			p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		/* Flips of the same bit cancel out: keep one. */
		if (!memcmp(orig, p, BS))
			p[4] ^= 1;
		snprintf(detail, sizeof(detail), "bits=%u", nbits);
		break;
	}
	case H_ZERO:
		memset(p, 0, BS);
		break;
	case H_DUP: {
		uint32_t type = block_type(p);
		uint64_t n = 0, k;

		/* another block of the same class, else of the same type, else any */
		for (other = 0; other < img.nr_blocks; other++)
			if (other != b && w.cls[other] == c)
				n++;
		if (n) {
			k = rnd(n);
			for (other = 0; other < img.nr_blocks; other++)
				if (other != b && w.cls[other] == c && !k--)
					break;
		} else {
			for (other = 1; other < img.nr_blocks; other++)
				if (other != b && w.cls[other] >= 0 &&
				    block_type(blk(&img, other)) == type)
					break;
			if (other >= img.nr_blocks)
				for (other = 1; other < img.nr_blocks; other++)
					if (other != b && w.cls[other] >= 0)
						break;
		}
		if (other >= img.nr_blocks)
			other = b + 1 < img.nr_blocks ? b + 1 : 1;
		memcpy(p, blk(&img, other), BS);
		snprintf(detail, sizeof(detail), "from=%" PRIu64 "(%s)", other,
			 w.cls[other] >= 0 ? cls_name[w.cls[other]] : "free");
		break;
	}
	case H_STALE: {
		uint32_t type = block_type(p);
		uint64_t txn = block_txn(p);

		if (b && old.data && b < old.nr_blocks &&
		    block_type(blk(&old, b)) == type && csum_ok(blk(&old, b)) &&
		    block_txn(blk(&old, b)) != txn) {
			memcpy(p, blk(&old, b), BS);
			snprintf(detail, sizeof(detail), "from-old txn=%" PRIu64 "->%" PRIu64,
				 txn, block_txn(p));
		} else {
			uint64_t t = txn > 1 ? txn - 1 - rnd(txn - 1) : txn + 1;

			((struct cow_disk_block_header *)p)->txn = cpu_to_le64(t);
			fix_csum(p, type);
			snprintf(detail, sizeof(detail), "restamped txn=%" PRIu64 "->%" PRIu64,
				 txn, t);
		}
		break;
	}
	case H_HEADER: {
		uint32_t type = block_type(p);
		size_t off;
		unsigned int bit;

		/*
		 * A superblock may claim a later transaction than it has:
		 * harmless and undetectable, so only its type and location.
		 */
		do {
			off = rnd(type == COW_BT_NODE ? 44 : b ? 24 : 16);
		} while (!in_header_field(type, off));
		/* node nr_entries may go down and still be sane: use big bits */
		bit = (unsigned int)rnd(8);
		if (type == COW_BT_NODE && off >= 28 && off < 32)
			off = 30 + rnd(2);	/* nr_entries: 65536 and up */
		p[off] ^= (uint8_t)(1u << bit);
		fix_csum(p, type);
		snprintf(detail, sizeof(detail), "byte=%zu bit=%u", off, bit);
		break;
	}
	case H_TRUNC: {
		struct cow_disk_superblock *sb = (void *)blk(&img, 0);
		uint64_t nr = le64_to_cpu(sb->nr_metadata_blocks);

		if (nr > img.nr_blocks)
			nr = img.nr_blocks;
		/* at least 3 blocks: smaller devices are usage errors */
		out_size = (3 + rnd(nr - 3)) * BS;
		snprintf(detail, sizeof(detail), "blocks=%" PRIu64 "/%" PRIu64,
			 out_size / BS, nr);
		b = out_size / BS;
		c = -1;
		break;
	}
	case H_FIELD: {
		uint32_t type = block_type(p);
		size_t off = 24 + rnd(len - 24);
		unsigned int bit = (unsigned int)rnd(8);

		if (type == COW_BT_NODE)
			off = node_entry_byte(p);
		p[off] ^= (uint8_t)(1u << bit);
		fix_csum(p, type);
		snprintf(detail, sizeof(detail), "byte=%zu bit=%u", off, bit);
		strict = false;
		break;
	}
	}

	f = fopen(out, "w");
	if (!f || fwrite(img.data, 1, out_size, f) != out_size || fclose(f)) {
		fprintf(stderr, "%s: %s: %s\n", prog, out, strerror(errno));
		return 1;
	}
	printf("case %" PRIu64 " how=%s class=%s block=%" PRIu64 " strict=%d %s\n",
	       kase, how_name[how], c >= 0 ? cls_name[c] : "device", b, strict, detail);
	return 0;
}

/* ---- lenient pattern verification (cowpattern's format) ---- */

#define SEC 512u
#define BATCH 64u	/* blocks per read */
#define STAMP_MAGIC 0x31545043u

struct stamp {
	uint32_t magic;
	uint16_t sector;
	uint16_t version;
	uint64_t tag;
	uint64_t block;
	uint64_t gen;
	uint32_t crc;
	uint32_t pad;
} __attribute__((packed));

static uint64_t xorshift64s(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

static void fill_block(uint8_t *buf, uint64_t tag, uint64_t block, uint64_t gen)
{
	for (unsigned int i = 0; i < BS / SEC; i++) {
		uint8_t *sec = buf + i * SEC;
		struct stamp st = {
			.magic = STAMP_MAGIC, .sector = (uint16_t)i, .version = 1,
			.tag = tag, .block = block, .gen = gen,
		};
		uint64_t s = splitmix64(tag);

		s = splitmix64(s ^ block);
		s = splitmix64(s ^ gen);
		s = splitmix64(s ^ i);
		if (!s)
			s = 1;
		for (size_t off = sizeof(st); off < SEC; off += 8) {
			uint64_t v = xorshift64s(&s);

			memcpy(sec + off, &v, 8);
		}
		memcpy(sec, &st, sizeof(st));
		st.crc = ~crc32c_raw(~0u, sec, SEC);
		memcpy(sec, &st, sizeof(st));
	}
}

struct expect {
	bool set;
	uint64_t tag, gen;
};

/*
 * What a corrupted image maps a volume's chunks to, read by walking its
 * trees: every (vchunk, dchunk) pair of every leaf reachable from a record
 * of the volume, and whether a tree on the way is out of key order.
 */
struct oracle {
	struct image img;
	uint64_t volume, chunk_bytes;
	uint8_t *seen;		/* blocks of the tree being walked */
	uint64_t (*pair)[2];
	size_t nr_pairs, cap;
	bool disordered;
	int data_fd;
};

static bool oracle_add(struct oracle *o, uint64_t vchunk, uint64_t dchunk)
{
	if (o->nr_pairs == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 1024;
		void *p = realloc(o->pair, cap * sizeof(*o->pair));

		if (!p)
			return false;
		o->pair = p;
		o->cap = cap;
	}
	o->pair[o->nr_pairs][0] = vchunk;
	o->pair[o->nr_pairs][1] = dchunk;
	o->nr_pairs++;
	return true;
}

/*
 * Walk the node at @b of @tree whose keys should lie in [@lo, @hi).  A node
 * that a reader would reject (range, type, checksum, header) is skipped:
 * reading through it fails.  Keys out of order or range, or a node met
 * twice, make o->disordered.
 */
static bool oracle_walk(struct oracle *o, uint64_t b, uint32_t tree,
			uint64_t lo, uint64_t hi, unsigned int depth)
{
	struct cow_disk_node_header *n;
	uint32_t nr, max, vs, i;
	uint8_t *p, *vals;
	bool leaf;

	if (!b || b >= o->img.nr_blocks || depth >= 16)
		return true;
	p = blk(&o->img, b);
	if (block_type(p) != COW_BT_NODE || !csum_ok(p))
		return true;
	if (o->seen[b]) {
		o->disordered = true;
		return true;
	}
	o->seen[b] = 1;
	n = (void *)p;
	leaf = le32_to_cpu(n->flags) & COW_NODE_LEAF;
	nr = le32_to_cpu(n->nr_entries);
	max = le32_to_cpu(n->max_entries);
	vs = le32_to_cpu(n->value_size);
	if (nr > max || 48 + (uint64_t)max * (8 + vs) > BS ||
	    vs < (leaf ? (tree == COW_TREE_MAPPING ? 8 : sizeof(struct cow_disk_volume)) :
		  sizeof(struct cow_disk_root)))
		return true;
	vals = p + 48 + 8 * (size_t)max;
	for (i = 0; i < nr; i++) {
		uint64_t key = le64_to_cpu(((__le64 *)(p + 48))[i]);
		uint64_t next = i + 1 < nr ? le64_to_cpu(((__le64 *)(p + 48))[i + 1]) : hi;
		uint8_t *v = vals + (size_t)i * vs;

		if (key < lo || key >= hi || (i + 1 < nr && next <= key))
			o->disordered = true;
		if (!leaf) {
			if (!oracle_walk(o, le64_to_cpu(((struct cow_disk_root *)v)->blocknr),
					 tree, key, next, depth + 1))
				return false;
		} else if (tree == COW_TREE_MAPPING) {
			uint64_t m;

			memcpy(&m, v, 8);
			if (!oracle_add(o, key, le64_to_cpu(m) & COW_MAP_CHUNK_MASK))
				return false;
		} else if (key == o->volume) {
			struct cow_disk_volume *rec = (void *)v;
			uint64_t root = le64_to_cpu(rec->mapping.blocknr);
			uint8_t *vol_seen = o->seen;
			bool ok;

			o->seen = calloc(1, o->img.nr_blocks);
			if (!o->seen)
				return false;
			ok = oracle_walk(o, root, COW_TREE_MAPPING, 0, UINT64_MAX, 0);
			free(o->seen);
			o->seen = vol_seen;
			if (!ok)
				return false;
		}
	}
	return true;
}

static int oracle_load(struct oracle *o, const char *meta, const char *data,
		       uint64_t volume)
{
	struct cow_disk_superblock *sb;

	memset(o, 0, sizeof(*o));
	o->volume = volume;
	o->data_fd = open(data, O_RDONLY);
	if (o->data_fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, data, strerror(errno));
		return -1;
	}
	if (image_load(meta, &o->img))
		return -1;
	o->seen = calloc(1, o->img.nr_blocks + 1);
	if (!o->seen)
		return -1;
	sb = (void *)blk(&o->img, 0);
	if (o->img.nr_blocks < 2 || block_type((uint8_t *)sb) != COW_BT_SUPERBLOCK ||
	    le64_to_cpu(sb->magic) != COW_SB_MAGIC)
		return 0;	/* no pool: nothing is explained */
	pool_seed = seed_of((uint8_t *)sb, COW_BT_SUPERBLOCK);
	if (!csum_ok((uint8_t *)sb))
		return 0;
	o->chunk_bytes = (uint64_t)le32_to_cpu(sb->chunk_sectors) * SEC;
	if (!o->chunk_bytes || o->chunk_bytes % BS)
		return 0;
	if (!oracle_walk(o, le64_to_cpu(sb->volumes_root.blocknr), COW_TREE_VOLUMES,
			 0, UINT64_MAX, 0))
		return -1;
	return 0;
}

/* Does the image map @block of the volume to what the device returned? */
static bool oracle_explains(struct oracle *o, uint64_t block, const uint8_t *got)
{
	static uint8_t zero[BS];
	uint8_t *buf;
	uint64_t vchunk, off;
	bool found = false;
	size_t i;

	if (!o->chunk_bytes)
		return false;
	vchunk = block * BS / o->chunk_bytes;
	off = block * BS % o->chunk_bytes;
	buf = malloc(BS);
	if (!buf)
		return false;
	for (i = 0; i < o->nr_pairs; i++) {
		if (o->pair[i][0] != vchunk)
			continue;
		found = true;
		if (pread(o->data_fd, buf, BS, (off_t)(o->pair[i][1] * o->chunk_bytes + off)) == BS &&
		    !memcmp(buf, got, BS)) {
			free(buf);
			return true;
		}
	}
	free(buf);
	return (!found || o->disordered) && !memcmp(got, zero, BS);
}

static int cmd_verify(int argc, char **argv)
{
	uint64_t nblocks, b, nok = 0, nerr = 0, nwrong = 0, nexplained = 0, reported[2] = { 0 };
	uint64_t batch_start = 0, batch_end = 0, volume = 0;
	const char *meta = NULL, *data = NULL, *save = NULL;
	int save_fd = -1;
	struct oracle o;
	uint8_t *buf, *exp;
	struct expect *e;
	char line[512];
	FILE *f;
	int fd, i;

	for (i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--image"))
			meta = argv[i + 1];
		else if (!strcmp(argv[i], "--data"))
			data = argv[i + 1];
		else if (!strcmp(argv[i], "--volume"))
			volume = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--save"))
			save = argv[i + 1];
		else
			usage_error("verify: unknown option '%s'", argv[i]);
	}
	if (argc < 2 || i != argc || !meta != !data || (meta && !volume))
		usage_error("verify needs DEV MAPFILE [--image META --data DATA --volume ID] [--save FILE]");
	if (meta && oracle_load(&o, meta, data, volume))
		return 2;
	if (save) {
		save_fd = open(save, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (save_fd < 0) {
			fprintf(stderr, "%s: %s: %s\n", prog, save, strerror(errno));
			return 2;
		}
	}
	fd = open(argv[0], O_RDONLY | O_DIRECT);
	if (fd < 0 && errno == EINVAL)	/* a file (--save's) on tmpfs */
		fd = open(argv[0], O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, argv[0], strerror(errno));
		return 2;
	}
	if (ioctl(fd, BLKGETSIZE64, &nblocks)) {
		struct stat st;

		if (fstat(fd, &st))
			return 2;
		nblocks = (uint64_t)st.st_size;
	}
	nblocks /= BS;
	e = calloc(nblocks + 1, sizeof(*e));
	f = fopen(argv[1], "r");
	if (!e || !f) {
		fprintf(stderr, "%s: %s: %s\n", prog, argv[1], strerror(errno));
		return 2;
	}
	while (fgets(line, sizeof(line), f)) {
		uint64_t tag, gen, off, len, stride = 1, k;

		if (sscanf(line, "write tag=%" SCNu64 " gen=%" SCNu64 " offset=%" SCNu64
			   " length=%" SCNu64 " stride=%" SCNu64,
			   &tag, &gen, &off, &len, &stride) < 4)
			usage_error("%s: bad line '%s'", argv[1], line);
		if (!stride)
			stride = 1;
		for (k = off / BS; k < (off + len) / BS && k < nblocks; k += stride)
			e[k] = (struct expect){ true, tag, gen };
	}
	fclose(f);
	if (posix_memalign((void **)&buf, BS, BATCH * BS) ||
	    posix_memalign((void **)&exp, BS, BS))
		return 2;
	for (b = 0; b < nblocks; b++) {
		bool explained;
		uint8_t *p;

		if (!e[b].set)
			continue;
		/* Read a run of expected blocks at once; one by one on error. */
		if (b < batch_start || b >= batch_end) {
			uint64_t n = 0;

			while (n < BATCH && b + n < nblocks && e[b + n].set)
				n++;
			batch_start = b;
			batch_end = b;
			if (pread(fd, buf, n * BS, (off_t)(b * BS)) == (ssize_t)(n * BS))
				batch_end = b + n;
		}
		if (b < batch_end) {
			p = buf + (b - batch_start) * BS;
		} else {
			if (pread(fd, buf, BS, (off_t)(b * BS)) != BS) {
				nerr++;
				continue;
			}
			p = buf;
		}
		if (save_fd >= 0 && pwrite(save_fd, p, BS, (off_t)(b * BS)) != BS) {
			fprintf(stderr, "%s: %s: %s\n", prog, save, strerror(errno));
			return 2;
		}
		fill_block(exp, e[b].tag, b, e[b].gen);
		if (!memcmp(p, exp, BS)) {
			nok++;
			continue;
		}
		nwrong++;
		explained = meta && oracle_explains(&o, b, p);
		nexplained += explained;
		/* the first five of each kind */
		if (reported[explained]++ < 5) {
			struct stamp st;

			memcpy(&st, p, sizeof(st));
			printf("block %" PRIu64 ": expected tag %" PRIu64 " gen %" PRIu64
			       ", found magic %08x tag %" PRIu64 " block %" PRIu64 " gen %" PRIu64 "%s\n",
			       b, e[b].tag, e[b].gen, st.magic, st.tag, st.block, st.gen,
			       !meta ? "" : explained ? " (the image maps it so)" :
			       " (NOT what the image maps)");
		}
	}
	close(fd);
	if (save_fd >= 0 && close(save_fd)) {
		fprintf(stderr, "%s: %s: %s\n", prog, save, strerror(errno));
		return 2;
	}
	printf("ok %" PRIu64 " ioerr %" PRIu64 " wrong %" PRIu64 " explained %" PRIu64 "\n",
	       nok, nerr, nwrong, nexplained);
	return nwrong != nexplained ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage_error("missing command");
	if (!strcmp(argv[1], "classify"))
		return cmd_classify(argc - 2, argv + 2);
	if (!strcmp(argv[1], "corrupt"))
		return cmd_corrupt(argc - 2, argv + 2);
	if (!strcmp(argv[1], "verify"))
		return cmd_verify(argc - 2, argv + 2);
	usage_error("unknown command '%s'", argv[1]);
}
