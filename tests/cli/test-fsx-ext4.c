// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of diff's ext4 reader below the VFS (ext4_fsx_ops,
 * tools/dmcowctl/fs/ext4.c) on small images made by the host's mkfs.ext4
 * -d from a tree made here (one with inline_data, one without flex_bg,
 * whose 4 block groups are fsx's groups, one indexed by e2fsck -D),
 * against libext2fs's
 * own inode scan, directory iteration and namei, and against the tree:
 *  - dirs_in_group: every allocated directory, once, with its gen/mode,
 *    from the walk of the tree (no group scanned), and still every one
 *    where the walk cannot vouch for a group (a group's directory count
 *    made wrong with debugfs: that group alone scanned; no file types in
 *    entries: every group with directories scanned);
 *  - inodes_in: the allocated inodes of each inode table and of ranges
 *    starting or ending mid-table;
 *  - dir_entries: the entries but . and .., as libext2fs and the tree say;
 *  - dir_sample: the inodes of a one-block directory, of an htree
 *    directory's first leaf, some of a larger one's;
 *  - get of inode 0 or past s_inodes_count: -ENOENT;
 *  - changed_inodes_in of an image and a copy changed by debugfs (mtime,
 *    atime only, a file removed, one made): exactly the inodes whose
 *    stored bytes differ, each side as allocated; and -EXDEV, with no
 *    inode reported, for two images whose inode tables lie elsewhere.
 * No kernel: mkfs.ext4 (e2fsprogs) and libext2fs only.
 *
 * Output: one PASS/FAIL line per check, last line "fsx-ext4: N passed, N failed".
 */
#include "fs/fs.h"
#include "fs/fsx.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "unit-check.h"

void dmcowctl_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The tree: directories of small files, named as made. */
struct src_dir {
	const char *path;
	unsigned int files;
};

static const struct src_dir src_dirs[] = {
	{ "d0", 50 },		/* one 1 KiB block */
	{ "d1", 120 },
	{ "d1/sub", 5 },	/* after d1's files: d1 is listed to its end */
	{ "d2", 200 },		/* + "link", a hard link to d0/f0000 */
	{ "d3", 300 },
	{ "nest/sub", 60 },	/* nest holds sub only */
	{ "tiny", 2 },		/* inline with inline_data */
};
#define NR_SRC (sizeof(src_dirs) / sizeof(src_dirs[0]))

static char tmp[] = "/tmp/fsx-ext4.XXXXXX";

static void xsystem(const char *cmd)
{
	if (system(cmd)) {
		fprintf(stderr, "failed: %s\n", cmd);
		exit(2);
	}
}

static void write_file(const char *path, unsigned int len)
{
	FILE *f = fopen(path, "w");
	unsigned int i;

	if (!f) {
		perror(path);
		exit(2);
	}
	for (i = 0; i < len; i++)
		fputc('a' + i % 26, f);
	fclose(f);
}

static void make_tree(void)
{
	char p[PATH_MAX], q[PATH_MAX];
	unsigned int d, i;

	snprintf(p, sizeof(p), "%s/src", tmp);
	snprintf(q, sizeof(q), "%s/src/nest", tmp);
	if (mkdir(p, 0755) || mkdir(q, 0755)) {
		perror(q);
		exit(2);
	}
	for (d = 0; d < NR_SRC; d++) {
		snprintf(p, sizeof(p), "%s/src/%s", tmp, src_dirs[d].path);
		mkdir(p, 0755);
		for (i = 0; i < src_dirs[d].files; i++) {
			snprintf(p, sizeof(p), "%s/src/%s/f%04u", tmp, src_dirs[d].path, i);
			write_file(p, i % 97);
		}
	}
	snprintf(p, sizeof(p), "%s/src/d0/f0000", tmp);
	snprintf(q, sizeof(q), "%s/src/d2/link", tmp);
	if (link(p, q)) {
		perror(q);
		exit(2);
	}
}

/*----------------------------------------------------------------
 * The reference: libext2fs's inode scan and directory iteration
 *--------------------------------------------------------------*/

struct ref_inode {
	bool alloc;
	uint32_t gen, mode, nlink, flags;
	uint64_t size;
};

struct ref {
	ext2_filsys fs;
	const char *image;
	struct ref_inode *in;	/* [s_inodes_count + 1] */
	uint64_t nr;		/* s_inodes_count */
	unsigned int isz, bs, ipg;
};

static int ref_open(struct ref *r, const char *image)
{
	struct ext2_inode_large buf;
	ext2_inode_scan scan;
	ext2_ino_t ino;

	memset(r, 0, sizeof(*r));
	r->image = image;
	if (ext2fs_open(image, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &r->fs))
		return -1;
	r->nr = r->fs->super->s_inodes_count;
	r->isz = EXT2_INODE_SIZE(r->fs->super);
	r->bs = r->fs->blocksize;
	r->ipg = EXT2_INODES_PER_GROUP(r->fs->super);
	r->in = calloc(r->nr + 1, sizeof(*r->in));
	if (ext2fs_open_inode_scan(r->fs, 0, &scan))
		return -1;
	for (;;) {
		memset(&buf, 0, sizeof(buf));
		if (ext2fs_get_next_inode_full(scan, &ino, (struct ext2_inode *)&buf,
					       sizeof(buf)) || !ino)
			break;
		if (!buf.i_links_count ||
		    (ino != EXT2_ROOT_INO && ino < EXT2_FIRST_INODE(r->fs->super)))
			continue;
		r->in[ino] = (struct ref_inode){
			.alloc = true, .gen = buf.i_generation, .mode = buf.i_mode,
			.nlink = buf.i_links_count, .flags = buf.i_flags,
			.size = EXT2_I_SIZE(&buf),
		};
	}
	ext2fs_close_inode_scan(scan);
	return 0;
}

static bool ref_is_dir(const struct ref *r, uint64_t ino)
{
	return r->in[ino].alloc && LINUX_S_ISDIR(r->in[ino].mode);
}

/* Sorted "name/ino" strings: a multiset of entries. */
struct names {
	char **v;
	size_t n;
};

static void names_add(struct names *s, const char *name, size_t len, uint64_t ino)
{
	char buf[300];

	snprintf(buf, sizeof(buf), "%.*s/%" PRIu64, (int)len, name, ino);
	s->v = realloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->v[s->n++] = strdup(buf);
}

static int names_add_cb(void *ctx, const char *name, size_t len, uint64_t ino)
{
	names_add(ctx, name, len, ino);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool names_equal(struct names *a, struct names *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	if (!a->n)
		return true;
	qsort(a->v, a->n, sizeof(*a->v), cmp_str);
	qsort(b->v, b->n, sizeof(*b->v), cmp_str);
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]))
			return false;
	return true;
}

static void names_free(struct names *s)
{
	while (s->n)
		free(s->v[--s->n]);
	free(s->v);
	s->v = NULL;
}

static int ref_entry(ext2_ino_t dir, int entry, struct ext2_dir_entry *de, int offset,
		     int blocksize, char *buf, void *priv)
{
	unsigned int len = ext2fs_dirent_name_len(de);

	(void)dir, (void)entry, (void)offset, (void)blocksize, (void)buf;
	/* By name: an inline directory's ".." is an ordinary entry here. */
	if (!de->inode || (len == 1 && de->name[0] == '.') ||
	    (len == 2 && !memcmp(de->name, "..", 2)))
		return 0;
	names_add(priv, de->name, len, de->inode);
	return 0;
}

static int ref_entries(struct ref *r, uint64_t dir, struct names *s)
{
	int flags = r->in[dir].flags & EXT4_INLINE_DATA_FL ?
		    DIRENT_FLAG_INCLUDE_INLINE_DATA : 0;

	return ext2fs_dir_iterate2(r->fs, (ext2_ino_t)dir, flags, NULL, ref_entry, s) ?
	       -1 : 0;
}

/*----------------------------------------------------------------
 * The checks
 *--------------------------------------------------------------*/

struct seen {
	struct ref *r;
	uint8_t *count;		/* [nr + 1]: times reported */
	unsigned int bad;	/* reported but not allocated, or fields differ */
	uint64_t first_bad;
	bool dirs;		/* dirs_in_group: directories only */
	void *x;
	int64_t group;		/* dirs_in_group's group, -1: none */
	unsigned int wrong_group;
};

static int seen_inode(void *ctx, const struct fsx_inode *in)
{
	struct seen *s = ctx;
	const struct ref_inode *ri;
	bool ok;

	if (!in->ino || in->ino > s->r->nr) {
		s->bad++;
		s->first_bad = in->ino;
		return 0;
	}
	ri = &s->r->in[in->ino];
	ok = ri->alloc && in->gen == ri->gen && in->mode == ri->mode &&
	     (s->dirs || (in->size == ri->size && in->nlink == ri->nlink));
	if (s->dirs)
		ok = ok && LINUX_S_ISDIR(in->mode);
	if (!ok && !s->bad++)
		s->first_bad = in->ino;
	if (s->group >= 0 && ext4_fsx_ops.group_of(s->x, in->ino) != (uint64_t)s->group)
		s->wrong_group++;
	if (s->count[in->ino] < 255)
		s->count[in->ino]++;
	return 0;
}

static void seen_reset(struct seen *s, struct ref *r, bool dirs)
{
	s->r = r;
	s->bad = 0;
	s->first_bad = 0;
	s->dirs = dirs;
	s->group = -1;
	s->wrong_group = 0;
	memset(s->count, 0, r->nr + 1);
}

/*
 * @scanned: the block groups expected to be scanned for directories (-1:
 * every group holding directories).
 */
static void check_dirs_in_group(const char *img, void *x, struct ref *r, struct seen *s,
				int scanned)
{
	uint64_t g, ng = ext4_fsx_ops.nr_groups(x), ino, want = 0, missing = 0, twice = 0;
	int err = 0;

	seen_reset(s, r, true);
	s->x = x;
	for (g = 0; g < ng && !err; g++) {
		s->group = (int64_t)g;
		err = ext4_fsx_ops.dirs_in_group(x, g, seen_inode, s);
	}
	s->group = -1;
	for (ino = 1; ino <= r->nr; ino++) {
		if (ref_is_dir(r, ino)) {
			want++;
			missing += !s->count[ino];
		}
		twice += s->count[ino] > 1;
	}
	check(!err && !s->bad && !missing && !twice && !s->wrong_group,
	      "%s: dirs_in_group over %" PRIu64 " groups: the %" PRIu64
	      " directories, once each, in their group, gen/mode as scanned (err %d, %"
	      PRIu64 " missing, %" PRIu64 " twice, %u in another group, %u wrong: first %"
	      PRIu64 ")", img, ng, want, err, missing, twice, s->wrong_group, s->bad,
	      s->first_bad);
	if (scanned < 0)
		for (g = 0, scanned = 0; g < r->fs->group_desc_count; g++)
			scanned += ext2fs_bg_used_dirs_count(r->fs, (dgrp_t)g) != 0;
	check(ext4_fsx_ops.dir_groups_scanned(x) == (uint64_t)scanned,
	      "%s: %d block groups scanned for directories (%" PRIu64 ")", img, scanned,
	      ext4_fsx_ops.dir_groups_scanned(x));
}

/* Where inode @ino is stored: its byte offset on the volume. */
static uint64_t ino_pos(struct ref *r, uint64_t ino)
{
	uint64_t g = (ino - 1) / r->ipg, i = (ino - 1) % r->ipg;

	return ext2fs_inode_table_loc(r->fs, (dgrp_t)g) * r->bs + i * r->isz;
}

/*
 * inodes_in(@begin, @end): exactly the allocated inodes whose bytes overlap
 * the range rounded out to blocks, and at least those overlapping it.
 */
static void check_range(const char *img, void *x, struct ref *r, struct seen *s,
			uint64_t begin, uint64_t end, const char *what)
{
	uint64_t bb = begin / r->bs * r->bs, be = (end + r->bs - 1) / r->bs * r->bs;
	uint64_t ino, pos, want = 0, missing = 0, extra = 0;
	bool exact, outer;
	int err;

	seen_reset(s, r, false);
	err = ext4_fsx_ops.inodes_in(x, begin, end, seen_inode, s);
	for (ino = 1; ino <= r->nr; ino++) {
		pos = ino_pos(r, ino);
		exact = pos < end && pos + r->isz > begin;
		outer = pos < be && pos + r->isz > bb;
		if (!r->in[ino].alloc)
			continue;
		want += exact;
		missing += exact && !s->count[ino];
		extra += !outer && s->count[ino];
		extra += s->count[ino] > 1;
	}
	check(!err && !s->bad && !missing && !extra,
	      "%s: inodes_in %s [%" PRIu64 ", %" PRIu64 "): the %" PRIu64
	      " allocated inodes there (err %d, %" PRIu64 " missing, %" PRIu64
	      " extra, %u wrong: first %" PRIu64 ")",
	      img, what, begin, end, want, err, missing, extra, s->bad, s->first_bad);
}

static void check_inodes_in(const char *img, void *x, struct ref *r, struct seen *s)
{
	uint64_t ib = r->fs->inode_blocks_per_group, bs = r->bs, it0, it1;
	dgrp_t g;
	char what[64];

	for (g = 0; g < r->fs->group_desc_count; g++) {
		it0 = ext2fs_inode_table_loc(r->fs, g) * bs;
		snprintf(what, sizeof(what), "group %u's table", g);
		check_range(img, x, r, s, it0, it0 + ib * bs, what);
	}
	it0 = ext2fs_inode_table_loc(r->fs, 0) * bs;
	check_range(img, x, r, s, it0 + bs, it0 + 3 * bs, "blocks 1-2 of group 0");
	check_range(img, x, r, s, it0 + ib / 2 * bs, it0 + ib * bs, "second half of group 0");
	check_range(img, x, r, s, it0 + 5 * bs, it0 + 6 * bs, "block 5 of group 0");
	/* Byte-granular ends: rounded out to the blocks holding them. */
	check_range(img, x, r, s, it0 + 300, it0 + 2 * bs + 700, "unaligned, group 0");
	if (r->fs->group_desc_count > 1) {
		it1 = ext2fs_inode_table_loc(r->fs, 1) * bs;
		check_range(img, x, r, s, it0 + (ib - 3) * bs, it1 + 4 * bs,
			    "end of group 0 to start of group 1");
	}
}

static void check_dir_entries(const char *img, void *x, struct ref *r)
{
	struct names got = { 0 }, want = { 0 };
	uint64_t ino, dirs = 0, bad = 0, first_bad = 0;

	for (ino = 1; ino <= r->nr; ino++) {
		if (!ref_is_dir(r, ino))
			continue;
		dirs++;
		if (ext4_fsx_ops.dir_entries(x, ino, names_add_cb, &got) ||
		    ref_entries(r, ino, &want) || !names_equal(&got, &want)) {
			if (!bad++)
				first_bad = ino;
		}
		names_free(&got);
		names_free(&want);
	}
	check(dirs && !bad, "%s: dir_entries of all %" PRIu64 " directories as "
	      "ext2fs_dir_iterate2's (%" PRIu64 " differ: first %" PRIu64 ")",
	      img, dirs, bad, first_bad);
}

/* The names made in each source directory, and their inodes by namei. */
static void check_tree(const char *img, void *x, struct ref *r)
{
	struct names got = { 0 }, want = { 0 };
	char path[PATH_MAX], name[16];
	ext2_ino_t dir, ino;
	unsigned int d, i;
	bool ok;

	for (d = 0; d < NR_SRC; d++) {
		ok = !ext2fs_namei(r->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, src_dirs[d].path, &dir);
		for (i = 0; ok && i < src_dirs[d].files; i++) {
			snprintf(name, sizeof(name), "f%04u", i);
			snprintf(path, sizeof(path), "%s/%s", src_dirs[d].path, name);
			ok = !ext2fs_namei(r->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, &ino);
			names_add(&want, name, strlen(name), ino);
		}
		for (unsigned int c = 0; ok && c < NR_SRC; c++) {
			/* A source directory made inside this one. */
			size_t n = strlen(src_dirs[d].path);
			const char *sub = src_dirs[c].path + n + 1;

			if (strncmp(src_dirs[c].path, src_dirs[d].path, n) ||
			    src_dirs[c].path[n] != '/' || strchr(sub, '/'))
				continue;
			ok = !ext2fs_namei(r->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, src_dirs[c].path,
					   &ino);
			names_add(&want, sub, strlen(sub), ino);
		}
		if (ok && !strcmp(src_dirs[d].path, "d2")) {
			/* The hard link: d0/f0000's inode. */
			ok = !ext2fs_namei(r->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, "d0/f0000", &ino);
			names_add(&want, "link", 4, ino);
		}
		ok = ok && !ext4_fsx_ops.dir_entries(x, dir, names_add_cb, &got) &&
		     names_equal(&got, &want);
		check(ok, "%s: dir_entries of %s (inode %u): the %zu names made there, "
		      "inodes as namei's (%zu listed)", img, src_dirs[d].path, ok ? dir : 0,
		      want.n, got.n);
		names_free(&got);
		names_free(&want);
	}
}

/* "/ino" of each entry of directory @dir; whether @ino is among them. */
static bool entry_inodes(struct ref *r, uint64_t dir, struct names *all)
{
	struct names s = { 0 };
	size_t i;

	if (ref_entries(r, dir, &s))
		return false;
	for (i = 0; i < s.n; i++)
		names_add(all, "", 0, strtoull(strrchr(s.v[i], '/') + 1, NULL, 10));
	names_free(&s);
	return true;
}

/* "/ino" of each entry in block @lblk of directory @dir. */
static void block_inodes(struct ref *r, uint64_t dir, blk64_t lblk, struct names *out)
{
	struct ext2_dir_entry *de;
	unsigned int off, rec_len, len;
	blk64_t pblk = 0;
	char *buf = malloc(r->bs);

	if (ext2fs_bmap2(r->fs, (ext2_ino_t)dir, NULL, NULL, 0, lblk, NULL, &pblk) ||
	    ext2fs_read_dir_block4(r->fs, pblk, buf, 0, (ext2_ino_t)dir))
		goto out;
	for (off = 0; off < r->bs; off += rec_len) {
		de = (struct ext2_dir_entry *)(buf + off);
		if (ext2fs_get_rec_len(r->fs, de, &rec_len) || !rec_len)
			break;
		len = ext2fs_dirent_name_len(de);
		if (de->inode && len && !(len <= 2 && !memcmp(de->name, "..", len)))
			names_add(out, "", 0, de->inode);
	}
out:
	free(buf);
}

static int sample_cb(void *ctx, uint64_t ino)
{
	names_add(ctx, "", 0, ino);
	return 0;
}

/* Every sample is one of @all's. */
static bool names_subset(struct names *sub, struct names *all)
{
	size_t i;

	for (i = 0; i < sub->n; i++)
		if (!bsearch(&sub->v[i], all->v, all->n, sizeof(*all->v), cmp_str))
			return false;
	return true;
}

/*
 * One-block directories: all their entries; inline: those or none; htree:
 * the entries of the first leaf; other larger ones: some of their entries.
 */
static void check_dir_sample(const char *img, void *x, struct ref *r)
{
	uint64_t ino, one = 0, inl = 0, big = 0, htree = 0, bad = 0, first_bad = 0;
	struct names got = { 0 }, all = { 0 }, leaf = { 0 };
	bool ok;

	for (ino = 1; ino <= r->nr; ino++) {
		if (!ref_is_dir(r, ino))
			continue;
		ok = !ext4_fsx_ops.dir_sample(x, ino, sample_cb, &got) &&
		     entry_inodes(r, ino, &all);
		if (all.n)
			qsort(all.v, all.n, sizeof(*all.v), cmp_str);
		if (r->in[ino].flags & EXT4_INLINE_DATA_FL) {
			inl++;
			ok = ok && (!got.n || names_equal(&got, &all));
		} else if (r->in[ino].size == r->bs) {
			one++;
			ok = ok && got.n && names_equal(&got, &all);
		} else if (r->in[ino].flags & EXT2_INDEX_FL) {
			htree++;
			block_inodes(r, ino, 1, &leaf);
			ok = ok && got.n && got.n < all.n && names_equal(&got, &leaf);
		} else {
			big++;
			ok = ok && names_subset(&got, &all);
		}
		if (!ok && !bad++)
			first_bad = ino;
		names_free(&got);
		names_free(&all);
		names_free(&leaf);
	}
	check(one && !bad, "%s: dir_sample of %" PRIu64 " one-block, %" PRIu64 " inline, %"
	      PRIu64 " htree and %" PRIu64 " other directories (%" PRIu64 " wrong: first %"
	      PRIu64 ")", img, one, inl, htree, big, bad, first_bad);
}

static void check_get(const char *img, void *x, struct ref *r)
{
	struct fsx_inode in;
	uint64_t ino, some = 0;

	check(ext4_fsx_ops.get(x, 0, &in) == -ENOENT, "%s: get of inode 0: -ENOENT", img);
	check(ext4_fsx_ops.get(x, r->nr + 1, &in) == -ENOENT,
	      "%s: get of inode %" PRIu64 " (past s_inodes_count): -ENOENT", img, r->nr + 1);
	check(ext4_fsx_ops.get(x, r->nr, &in) == -ENOENT,
	      "%s: get of the last, unallocated inode: -ENOENT", img);
	for (ino = r->nr; ino > EXT2_FIRST_INODE(r->fs->super); ino--)
		if (r->in[ino].alloc && !LINUX_S_ISDIR(r->in[ino].mode))
			break;
	some = ino;
	check(!ext4_fsx_ops.get(x, some, &in) && in.ino == some &&
	      in.gen == r->in[some].gen && in.mode == r->in[some].mode &&
	      in.size == r->in[some].size && in.nlink == r->in[some].nlink,
	      "%s: get of inode %" PRIu64 ": as scanned", img, some);
}

/*
 * One image: mkfs.ext4 -d of the tree (then e2fsck -D with @htree, then
 * debugfs -w -R of each of @debugfs), then every check; @scanned as
 * check_dirs_in_group()'s.
 */
static void test_image(const char *name, const char *mkfs_opts, bool htree,
		       const char *const *debugfs, int scanned)
{
	struct fs_view v;
	char img[sizeof(v.dev)], cmd[3 * PATH_MAX];
	struct seen s;
	struct ref r;
	void *x;

	snprintf(img, sizeof(img), "%s/%s.img", tmp, name);
	snprintf(cmd, sizeof(cmd), "mkfs.ext4 -q -F -b 1024 %s -d %s/src %s 32M >/dev/null",
		 mkfs_opts, tmp, img);
	xsystem(cmd);
	if (htree) {
		/* e2fsck -D indexes the directories of more than a block. */
		snprintf(cmd, sizeof(cmd), "e2fsck -fyD %s >/dev/null 2>&1", img);
		if (WEXITSTATUS(system(cmd)) > 1) {
			check(false, "%s: e2fsck -fyD", name);
			return;
		}
	}
	for (; debugfs && *debugfs; debugfs++) {
		snprintf(cmd, sizeof(cmd), "debugfs -w -R '%s' %s >/dev/null 2>&1", *debugfs, img);
		xsystem(cmd);
	}
	memset(&v, 0, sizeof(v));
	snprintf(v.dev, sizeof(v.dev), "%s", img);
	if (ref_open(&r, img) || ext4_fsx_ops.open(&v, &x)) {
		check(false, "%s: open", name);
		return;
	}
	check(ext4_fsx_ops.dir_entries && ext4_fsx_ops.dir_sample &&
	      ext4_fsx_ops.dir_groups_scanned,
	      "%s: dir_entries, dir_sample and dir_groups_scanned are implemented", name);
	if (!ext4_fsx_ops.dir_entries || !ext4_fsx_ops.dir_sample ||
	    !ext4_fsx_ops.dir_groups_scanned)
		goto out;
	s.count = malloc(r.nr + 1);
	check_dirs_in_group(name, x, &r, &s, scanned);
	check_inodes_in(name, x, &r, &s);
	check_dir_entries(name, x, &r);
	check_tree(name, x, &r);
	check_dir_sample(name, x, &r);
	check_get(name, x, &r);
	free(s.count);
out:
	ext4_fsx_ops.close(x);
	free(r.in);
	ext2fs_close_free(&r.fs);
}

/*----------------------------------------------------------------
 * Two images side by side
 *--------------------------------------------------------------*/

struct pairs {
	struct ref *a, *b;
	uint8_t *count;		/* [nr + 1] */
	unsigned int bad;	/* a side reported unlike its allocation */
	uint64_t first_bad;
};

static int pair_cb(void *ctx, const struct fsx_inode *a, const struct fsx_inode *b)
{
	struct pairs *p = ctx;
	uint64_t ino = a ? a->ino : b ? b->ino : 0;
	bool ok = ino && ino <= p->a->nr && (!a || !b || a->ino == b->ino) &&
		  !a == !p->a->in[ino].alloc && !b == !p->b->in[ino].alloc &&
		  (!a || a->gen == p->a->in[ino].gen) && (!b || b->gen == p->b->in[ino].gen);

	if (!ok && !p->bad++)
		p->first_bad = ino;
	if (ok && p->count[ino] < 255)
		p->count[ino]++;
	return 0;
}

/* Inode @ino as stored in @r's image (libext2fs). */
static bool stored_equal(struct ref *a, struct ref *b, uint64_t ino, char *ba, char *bb)
{
	return !ext2fs_read_inode_full(a->fs, (ext2_ino_t)ino, (void *)ba, a->isz) &&
	       !ext2fs_read_inode_full(b->fs, (ext2_ino_t)ino, (void *)bb, b->isz) &&
	       !memcmp(ba, bb, a->isz);
}

static void test_pair(void)
{
	static const char *const change[] = {
		/* Made before the removal, which would free the inode it takes. */
		"write /dev/null new", "sif d1/f0003 mtime 20200101",
		"sif d3/f0001 atime 20200101", "rm d2/f0010", NULL
	};
	struct fs_view va, vb, vc;
	char a[sizeof(va.dev)], b[sizeof(va.dev)], c[sizeof(va.dev)], cmd[1536];
	uint64_t ino, want = 0, missing = 0, extra = 0, examined = 0, alloc = 0;
	struct ref ra, rb, rc;
	struct pairs p = { .a = &ra, .b = &rb };
	void *xa, *xb, *xc;
	char *ba, *bb;
	int err;

	snprintf(a, sizeof(a), "%s/pair-a.img", tmp);
	snprintf(b, sizeof(b), "%s/pair-b.img", tmp);
	snprintf(c, sizeof(c), "%s/pair-c.img", tmp);
	snprintf(cmd, sizeof(cmd), "mkfs.ext4 -q -F -b 1024 -N 1024 -d %s/src %s 32M >/dev/null"
		 " && cp %s %s && mkfs.ext4 -q -F -b 1024 -N 2048 -d %s/src %s 32M >/dev/null",
		 tmp, a, a, b, tmp, c);
	xsystem(cmd);
	for (const char *const *d = change; *d; d++) {
		snprintf(cmd, sizeof(cmd), "debugfs -w -R '%s' %s >/dev/null 2>&1", *d, b);
		xsystem(cmd);
	}
	memset(&va, 0, sizeof(va));
	memset(&vb, 0, sizeof(vb));
	memset(&vc, 0, sizeof(vc));
	snprintf(va.dev, sizeof(va.dev), "%s", a);
	snprintf(vb.dev, sizeof(vb.dev), "%s", b);
	snprintf(vc.dev, sizeof(vc.dev), "%s", c);
	if (ref_open(&ra, a) || ref_open(&rb, b) || ref_open(&rc, c) ||
	    ext4_fsx_ops.open(&va, &xa) || ext4_fsx_ops.open(&vb, &xb) ||
	    ext4_fsx_ops.open(&vc, &xc)) {
		check(false, "pair: open");
		return;
	}
	p.count = calloc(ra.nr + 1, 1);
	ba = malloc(ra.isz);
	bb = malloc(ra.isz);
	err = ext4_fsx_ops.changed_inodes_in(xa, xb, 0, 32ull << 20, pair_cb, &p, &examined);
	for (ino = 1; ino <= ra.nr; ino++) {
		bool differ = (ra.in[ino].alloc || rb.in[ino].alloc) &&
			      !(ra.in[ino].alloc && rb.in[ino].alloc &&
				stored_equal(&ra, &rb, ino, ba, bb));

		alloc += ra.in[ino].alloc + rb.in[ino].alloc;
		want += differ;
		missing += differ && !p.count[ino];
		extra += !differ && p.count[ino];
		extra += p.count[ino] > 1;
	}
	check(!err && !p.bad && !missing && !extra && want >= 4 && examined == alloc,
	      "pair: changed_inodes_in reports the %" PRIu64 " inodes stored differently "
	      "(err %d, %" PRIu64 " missing, %" PRIu64 " extra, %u wrong: first %" PRIu64
	      "; %" PRIu64 " of %" PRIu64 " allocated examined)", want, err, missing, extra,
	      p.bad, p.first_bad, examined, alloc);
	memset(p.count, 0, ra.nr + 1);
	p.bad = 0;
	err = ext4_fsx_ops.changed_inodes_in(xa, xc, 0, 32ull << 20, pair_cb, &p, &examined);
	for (ino = 1, extra = 0; ino <= ra.nr; ino++)
		extra += p.count[ino];
	check(err == -EXDEV && !extra && !p.bad,
	      "pair: inode tables elsewhere: -EXDEV (%d), nothing reported (%" PRIu64 ")",
	      err, extra + p.bad);
	free(ba);
	free(bb);
	free(p.count);
	ext4_fsx_ops.close(xa);
	ext4_fsx_ops.close(xb);
	ext4_fsx_ops.close(xc);
	free(ra.in);
	free(rb.in);
	free(rc.in);
	ext2fs_close_free(&ra.fs);
	ext2fs_close_free(&rb.fs);
	ext2fs_close_free(&rc.fs);
}

int main(void)
{
	/* Group 0 holds the root: its count made wrong, the walk is not trusted there. */
	static const char *const wrong_count[] = {
		"set_bg 0 used_dirs_count 200", "set_bg 0 checksum calc", NULL
	};
	char cmd[PATH_MAX + 16];

	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 2;
	}
	make_tree();
	/* 256 inodes a group: the tree spans groups 0-2, group 3 is unused. */
	test_image("ext4", "-N 1024", false, NULL, 0);
	/* tiny's 2 entries are stored in its inode. */
	test_image("ext4-inline", "-O inline_data", false, NULL, 0);
	/* Without flex_bg fsx's groups are the 4 block groups. */
	test_image("ext4-noflex", "-N 1024 -O ^flex_bg", false, NULL, 0);
	/* d1, d2, d3 with an htree index, their entries in hash order. */
	test_image("ext4-htree", "-N 1024", true, NULL, 0);
	test_image("ext4-wrong-count", "-N 1024", false, wrong_count, 1);
	/* Entries without file types: no walk, every group scanned. */
	test_image("ext4-nofiletype", "-N 1024 -O ^filetype", false, NULL, -1);
	test_pair();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	xsystem(cmd);
	printf("fsx-ext4: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
