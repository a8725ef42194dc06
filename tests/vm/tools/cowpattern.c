// SPDX-License-Identifier: GPL-2.0-only
/*
 * cowpattern: write and verify a self-describing block pattern.
 *
 * Every 4 KiB block is made of eight 512-byte sectors.  Each sector starts
 * with a 40-byte stamp (magic, sector index, volume tag, block number,
 * generation, CRC32C of the sector) and the rest of the sector is a
 * deterministic PRNG stream seeded from (tag, block, generation, sector).
 * The eight sector CRCs together cover every byte of the block, so a block
 * of another volume, offset or generation, a torn block (sectors from
 * different writes), a zero block or random garbage are all told apart and
 * reported precisely.
 *
 * The block number stamped is the absolute 4 KiB block index in DEV
 * (byte offset / 4096), so a block returned for the wrong offset is
 * reported as misdirected.
 *
 * Exit status: 0 all blocks as expected, 1 mismatches (or read/write
 * errors), 2 usage error or failure to open the device.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <isa-l/crc.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLK_SIZE	4096u
#define SECTOR_SIZE	512u
#define SECTORS		(BLK_SIZE / SECTOR_SIZE)
#define STAMP_MAGIC	0x31545043u	/* "CPT1" */
#define STAMP_VERSION	1u
#define BATCH_BLOCKS	64u		/* 256 KiB per I/O when contiguous */
#define MAX_REPORTS	10u

struct stamp {
	uint32_t magic;
	uint16_t sector;	/* index of this sector in its block */
	uint16_t version;
	uint64_t tag;
	uint64_t block;		/* absolute 4 KiB block number in DEV */
	uint64_t gen;
	uint32_t crc;		/* CRC32C of the sector, this field zeroed */
	uint32_t pad;
} __attribute__((packed));

_Static_assert(sizeof(struct stamp) == 40, "stamp layout");

/* What a block is expected to hold. */
enum expect_kind { EXP_NONE, EXP_PATTERN, EXP_ZERO };

struct expect {
	uint8_t kind;
	uint64_t tag;
	uint64_t gen;
};

struct opts {
	const char *dev;
	uint64_t tag, gen;
	bool have_tag, have_gen;
	uint64_t offset;
	uint64_t length;
	bool have_length;
	uint64_t stride;
	uint64_t random_seed;
	bool random_order;
	bool fsync;
	bool expect_zero;
	const char *record;
	const char *map;
	bool quiet;
};

static const char *prog = "cowpattern";

/* ---- CRC32C (Castagnoli): isa-l's crc32_iscsi() inverts nothing itself ---- */

static uint32_t crc32c(const void *buf, size_t len)
{
	return ~crc32_iscsi((unsigned char *)buf, (int)len, ~0u);
}

/* ---- PRNG: splitmix64 for seeding, xorshift64* for the stream ---- */

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t xorshift64s(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

static uint64_t sector_seed(uint64_t tag, uint64_t block, uint64_t gen,
			    unsigned int sector)
{
	uint64_t s = splitmix64(tag);

	s = splitmix64(s ^ block);
	s = splitmix64(s ^ gen);
	s = splitmix64(s ^ sector);
	return s ? s : 1;	/* xorshift state must be non-zero */
}

/* ---- pattern generation and classification ---- */

static void fill_block(uint8_t *buf, uint64_t tag, uint64_t block, uint64_t gen)
{
	for (unsigned int i = 0; i < SECTORS; i++) {
		uint8_t *sec = buf + i * SECTOR_SIZE;
		struct stamp st = {
			.magic = STAMP_MAGIC, .sector = (uint16_t)i,
			.version = STAMP_VERSION, .tag = tag, .block = block,
			.gen = gen, .crc = 0, .pad = 0,
		};
		uint64_t s = sector_seed(tag, block, gen, i);

		for (size_t off = sizeof(st); off < SECTOR_SIZE; off += 8) {
			uint64_t v = xorshift64s(&s);

			memcpy(sec + off, &v, 8);
		}
		memcpy(sec, &st, sizeof(st));
		st.crc = crc32c(sec, SECTOR_SIZE);
		memcpy(sec, &st, sizeof(st));
	}
}

enum sec_kind { SEC_ZERO, SEC_VALID, SEC_CORRUPT, SEC_GARBAGE };

struct sec_info {
	enum sec_kind kind;
	struct stamp st;
};

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static void classify_sector(const uint8_t *sec, struct sec_info *si)
{
	uint8_t tmp[SECTOR_SIZE];
	struct stamp st;

	memcpy(&st, sec, sizeof(st));
	si->st = st;
	if (all_zero(sec, SECTOR_SIZE)) {
		si->kind = SEC_ZERO;
		return;
	}
	if (st.magic != STAMP_MAGIC || st.version != STAMP_VERSION ||
	    st.sector >= SECTORS) {
		si->kind = SEC_GARBAGE;
		return;
	}
	memcpy(tmp, sec, SECTOR_SIZE);
	memset(tmp + offsetof(struct stamp, crc), 0, sizeof(st.crc));
	si->kind = crc32c(tmp, SECTOR_SIZE) == st.crc ? SEC_VALID : SEC_CORRUPT;
}

static bool sec_ok(const struct sec_info *si, unsigned int i,
		   uint64_t tag, uint64_t block, uint64_t gen)
{
	return si->kind == SEC_VALID && si->st.sector == i &&
	       si->st.tag == tag && si->st.block == block && si->st.gen == gen;
}

/* Describe one sector relative to the expected block number. */
static void describe_sector(const struct sec_info *si, unsigned int i,
			    uint64_t block, char *out, size_t n)
{
	int len;

	switch (si->kind) {
	case SEC_ZERO:
		snprintf(out, n, "zero");
		return;
	case SEC_GARBAGE:
		snprintf(out, n, "garbage");
		return;
	case SEC_CORRUPT:
		snprintf(out, n, "corrupt (stamp says tag %" PRIu64 " gen %"
			 PRIu64 " block %" PRIu64 ", checksum bad)",
			 si->st.tag, si->st.gen, si->st.block);
		return;
	case SEC_VALID:
		len = snprintf(out, n, "tag %" PRIu64 " gen %" PRIu64,
			       si->st.tag, si->st.gen);
		if (si->st.block != block && len > 0 && (size_t)len < n)
			len += snprintf(out + len, n - len,
					" of block %" PRIu64 " (misdirected)",
					si->st.block);
		if (si->st.sector != i && len > 0 && (size_t)len < n)
			snprintf(out + len, n - len, " sector %u", si->st.sector);
		return;
	}
}

/* Every sector stamped by the same write, some with a bad checksum. */
static bool same_stamp_some_corrupt(const struct sec_info *si)
{
	bool corrupt = false;

	for (unsigned int i = 0; i < SECTORS; i++) {
		if (si[i].kind != SEC_VALID && si[i].kind != SEC_CORRUPT)
			return false;
		if (si[i].st.sector != i || si[i].st.tag != si[0].st.tag ||
		    si[i].st.gen != si[0].st.gen || si[i].st.block != si[0].st.block)
			return false;
		corrupt |= si[i].kind == SEC_CORRUPT;
	}
	return corrupt;
}

/*
 * Describe a whole block: "zero block", "tag T gen G", "garbage", or
 * "torn block: sectors 0-3 tag 1 gen 2, sectors 4-7 zero".
 */
static void describe_block(const uint8_t *buf, uint64_t block,
			   char *out, size_t n)
{
	struct sec_info si[SECTORS];
	char d[SECTORS][160];
	unsigned int runs = 0;
	size_t len = 0;

	for (unsigned int i = 0; i < SECTORS; i++) {
		classify_sector(buf + i * SECTOR_SIZE, &si[i]);
		describe_sector(&si[i], i, block, d[i], sizeof(d[i]));
	}
	for (unsigned int i = 0; i < SECTORS; i++)
		if (i == 0 || strcmp(d[i], d[i - 1]))
			runs++;
	if (runs > 1 && same_stamp_some_corrupt(si)) {
		/* One write's block with damaged bytes: name the sectors. */
		len = snprintf(out, n, "corrupt block: stamps say tag %" PRIu64
			       " gen %" PRIu64, si[0].st.tag, si[0].st.gen);
		if (si[0].st.block != block && len < n)
			len += snprintf(out + len, n - len, " of block %" PRIu64
					" (misdirected)", si[0].st.block);
		if (len < n)
			len += snprintf(out + len, n - len, ", checksum bad in sector");
		for (unsigned int i = 0, k = 0; i < SECTORS && len < n; i++)
			if (si[i].kind == SEC_CORRUPT)
				len += snprintf(out + len, n - len, "%s %u",
						k++ ? "," : "", i);
		return;
	}
	if (runs == 1) {
		if (si[0].kind == SEC_ZERO)
			snprintf(out, n, "zero block");
		else
			snprintf(out, n, "%s", d[0]);
		return;
	}
	len = snprintf(out, n, "torn block:");
	for (unsigned int i = 0; i < SECTORS && len < n;) {
		unsigned int j = i;

		while (j + 1 < SECTORS && !strcmp(d[j + 1], d[i]))
			j++;
		if (j == i)
			len += snprintf(out + len, n - len, "%s sector %u %s",
					i ? "," : "", i, d[i]);
		else
			len += snprintf(out + len, n - len, "%s sectors %u-%u %s",
					i ? "," : "", i, j, d[i]);
		i = j + 1;
	}
}

/* ---- argument parsing helpers ---- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: cowpattern write  DEV --tag T --gen G [--offset BYTES] [--length BYTES]\n"
"                         [--stride N] [--random-order SEED] [--fsync]\n"
"                         [--record FILE]\n"
"       cowpattern verify DEV --tag T --gen G [--offset BYTES] [--length BYTES]\n"
"                         [--stride N]\n"
"       cowpattern verify DEV --expect-zero [--offset BYTES] [--length BYTES]\n"
"                         [--stride N]\n"
"       cowpattern verify DEV --map FILE [--expect-zero] [--offset BYTES]\n"
"                         [--length BYTES]\n"
"       cowpattern fill-check DEV --tag T --gen G [--offset BYTES] [--fsync]\n"
"       cowpattern describe DEV --offset BYTES\n"
"\n"
"Writes and verifies a self-describing pattern in 4 KiB blocks.  Each\n"
"512-byte sector of a block carries a stamp (volume tag, absolute block\n"
"number = byte offset / 4096, generation, sector index) and a CRC32C of the\n"
"sector; the rest is a PRNG stream seeded from those values.  A block from\n"
"another volume, offset or generation, a torn, zero or garbage block is\n"
"detected and described.\n"
"\n"
"  --tag T             volume tag (unsigned 64-bit number)\n"
"  --gen G             generation (unsigned 64-bit number)\n"
"  --offset BYTES      start of the range (multiple of 4096; default 0)\n"
"  --length BYTES      length of the range (multiple of 4096; default: to the\n"
"                      end of DEV).  BYTES accept suffixes k, M, G (x1024).\n"
"  --stride N          only every Nth block of the range, starting with the\n"
"                      first (default 1)\n"
"  --random-order SEED write the blocks in a pseudo-random order (same set)\n"
"  --fsync             fsync DEV after writing (flushes the device cache)\n"
"  --record FILE       write: append a line describing what was written to\n"
"                      FILE, for verify --map\n"
"  --map FILE          verify: expectations come from FILE; later lines win.\n"
"                      Lines: 'write tag=T gen=G offset=O length=L stride=S'\n"
"                      (as --record writes them) or 'zero offset=O length=L\n"
"                      [stride=S]' (blocks that must read as zeroes, e.g.\n"
"                      after a discard).  Blocks of the range not named in\n"
"                      FILE are skipped, or must be zero with --expect-zero.\n"
"  --expect-zero       verify: blocks must read as zeroes\n"
"  --quiet             no summary line on success\n"
"\n"
"verify exits 0 when every block matches, 1 otherwise, printing the first\n"
"%u mismatches as 'block N: expected tag T gen G, found ...' where found is\n"
"'zero block', 'tag T gen G', '... of block B (misdirected)', 'garbage',\n"
"'corrupt (...)' (stamp intact, checksum bad; bytes differing from the\n"
"expected block are counted) or 'torn block: sectors a-b ..., sectors c-d ...'.\n"
"\n"
"write creates DEV when it is missing (a regular file).\n"
"fill-check writes blocks from --offset until the end of DEV or the first\n"
"write error (e.g. ENOSPC), reports how far it got, then verifies every\n"
"block it wrote.  describe prints what the block at --offset holds.\n"
"Exit status: 0 ok, 1 mismatch or I/O error, 2 usage or open error.\n",
		MAX_REPORTS);
}

static __attribute__((noreturn, format(printf, 1, 2)))
void usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(try '%s --help')\n", prog);
	exit(2);
}

static bool parse_u64(const char *s, uint64_t *out, bool suffix)
{
	char *end;
	uint64_t v, mul = 1;

	if (!s || !*s || *s == '-' || isspace((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return false;
	if (suffix && *end) {
		switch (*end) {
		case 'k': case 'K': mul = 1ull << 10; break;
		case 'm': case 'M': mul = 1ull << 20; break;
		case 'g': case 'G': mul = 1ull << 30; break;
		case 't': case 'T': mul = 1ull << 40; break;
		default: return false;
		}
		end++;
		if (*end == 'i' && end[1] == 'B')
			end += 2;
		else if (*end == 'B')
			end++;
	}
	if (*end)
		return false;
	if (v > UINT64_MAX / mul)
		return false;
	*out = v * mul;
	return true;
}

static uint64_t arg_u64(const char *name, const char *s, bool suffix)
{
	uint64_t v;

	if (!parse_u64(s, &v, suffix))
		usage_error("bad number for %s: '%s'", name, s);
	return v;
}

/* ---- device access ---- */

struct dev {
	int fd;
	bool direct;
	uint64_t size;
	const char *path;
};

static int dev_open(struct dev *d, const char *path, bool writing)
{
	int flags = (writing ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC;
	struct stat st;

	d->path = path;
	d->direct = true;
	d->fd = open(path, flags | O_DIRECT, 0644);
	if (d->fd < 0 && errno == EINVAL) {
		d->direct = false;
		d->fd = open(path, flags, 0644);
	}
	if (d->fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		return -1;
	}
	if (fstat(d->fd, &st) < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		close(d->fd);
		return -1;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(d->fd, BLKGETSIZE64, &d->size) < 0) {
			fprintf(stderr, "%s: %s: BLKGETSIZE64: %s\n", prog, path,
				strerror(errno));
			close(d->fd);
			return -1;
		}
	} else {
		d->size = (uint64_t)st.st_size;
	}
	return 0;
}

/* Drop O_DIRECT when the file system refuses it for this I/O. */
static bool dev_fallback(struct dev *d)
{
	int fl;

	if (!d->direct)
		return false;
	fl = fcntl(d->fd, F_GETFL);
	if (fl < 0 || fcntl(d->fd, F_SETFL, fl & ~O_DIRECT) < 0)
		return false;
	d->direct = false;
	return true;
}

/* Full pread/pwrite; returns 0 or -errno (-ENOSPC for a short write at 0). */
static int dev_io(struct dev *d, bool write, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = write ?
			pwrite(d->fd, (uint8_t *)buf + done, len - done, off + done) :
			pread(d->fd, (uint8_t *)buf + done, len - done, off + done);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EINVAL && dev_fallback(d))
				continue;
			return -errno;
		}
		if (r == 0) {
			if (!write) {	/* past EOF of a file: reads as zero */
				memset((uint8_t *)buf + done, 0, len - done);
				return 0;
			}
			return -ENOSPC;
		}
		done += (size_t)r;
	}
	return 0;
}

static void *alloc_buf(size_t len)
{
	void *p;

	if (posix_memalign(&p, BLK_SIZE, len)) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(2);
	}
	return p;
}

/* Range of blocks: first, count (of blocks actually visited), stride. */
struct range {
	uint64_t first;
	uint64_t count;
	uint64_t stride;
};

static void make_range(const struct opts *o, uint64_t devsize, struct range *r)
{
	uint64_t len;

	if (o->offset % BLK_SIZE)
		usage_error("--offset %" PRIu64 " is not a multiple of %u",
			    o->offset, BLK_SIZE);
	if (o->have_length) {
		len = o->length;
	} else {
		if (o->offset > devsize)
			usage_error("--offset beyond the end of %s", o->dev);
		len = (devsize - o->offset) / BLK_SIZE * BLK_SIZE;
	}
	if (len % BLK_SIZE)
		usage_error("--length %" PRIu64 " is not a multiple of %u",
			    len, BLK_SIZE);
	r->first = o->offset / BLK_SIZE;
	r->stride = o->stride;
	r->count = (len / BLK_SIZE + o->stride - 1) / o->stride;
}

/* ---- map files ---- */

struct map {
	struct expect *e;
	uint64_t nblocks;
};

static int record_append(const char *file, const struct opts *o,
			 const struct range *r)
{
	FILE *f = fopen(file, "a");

	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", prog, file, strerror(errno));
		return -1;
	}
	fprintf(f, "write tag=%" PRIu64 " gen=%" PRIu64 " offset=%" PRIu64
		" length=%" PRIu64 " stride=%" PRIu64 "\n",
		o->tag, o->gen, r->first * BLK_SIZE,
		r->count ? ((r->count - 1) * r->stride + 1) * BLK_SIZE : 0,
		r->stride);
	if (fclose(f)) {
		fprintf(stderr, "%s: %s: %s\n", prog, file, strerror(errno));
		return -1;
	}
	return 0;
}

static int map_load(const char *file, uint64_t nblocks, struct map *m)
{
	FILE *f = fopen(file, "r");
	char line[512];
	unsigned int lineno = 0;

	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", prog, file, strerror(errno));
		return -1;
	}
	m->nblocks = nblocks;
	m->e = calloc(nblocks ? nblocks : 1, sizeof(*m->e));
	if (!m->e) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(2);
	}
	while (fgets(line, sizeof(line), f)) {
		uint64_t tag = 0, gen = 0, off = UINT64_MAX, len = UINT64_MAX;
		uint64_t stride = 1;
		bool have_tag = false, have_gen = false;
		char *save, *w;
		int kind;

		lineno++;
		w = strtok_r(line, " \t\n", &save);
		if (!w || *w == '#')
			continue;
		if (!strcmp(w, "write"))
			kind = EXP_PATTERN;
		else if (!strcmp(w, "zero"))
			kind = EXP_ZERO;
		else
			goto bad;
		while ((w = strtok_r(NULL, " \t\n", &save))) {
			char *eq = strchr(w, '=');
			uint64_t v;

			if (!eq || !parse_u64(eq + 1, &v, true))
				goto bad;
			*eq = 0;
			if (!strcmp(w, "tag"))
				tag = v, have_tag = true;
			else if (!strcmp(w, "gen"))
				gen = v, have_gen = true;
			else if (!strcmp(w, "offset"))
				off = v;
			else if (!strcmp(w, "length"))
				len = v;
			else if (!strcmp(w, "stride"))
				stride = v;
			else
				goto bad;
		}
		if (off == UINT64_MAX || len == UINT64_MAX || !stride ||
		    off % BLK_SIZE || len % BLK_SIZE ||
		    (kind == EXP_PATTERN && (!have_tag || !have_gen)))
			goto bad;
		for (uint64_t b = off / BLK_SIZE;
		     b < (off + len) / BLK_SIZE; b += stride) {
			if (b >= nblocks) {
				fprintf(stderr, "%s: %s:%u: range beyond the end of the device\n",
					prog, file, lineno);
				fclose(f);
				return -1;
			}
			m->e[b].kind = (uint8_t)kind;
			m->e[b].tag = tag;
			m->e[b].gen = gen;
		}
	}
	fclose(f);
	return 0;
bad:
	fprintf(stderr, "%s: %s:%u: bad map line\n", prog, file, lineno);
	fclose(f);
	return -1;
}

/* ---- write ---- */

static uint64_t *order_permutation(uint64_t n, uint64_t seed)
{
	uint64_t *p = malloc((n ? n : 1) * sizeof(*p));
	uint64_t s = splitmix64(seed) | 1;

	if (!p) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(2);
	}
	for (uint64_t i = 0; i < n; i++)
		p[i] = i;
	for (uint64_t i = n; i > 1; i--) {
		uint64_t j = xorshift64s(&s) % i, t = p[i - 1];

		p[i - 1] = p[j];
		p[j] = t;
	}
	return p;
}

/*
 * Write the blocks of @r; returns the number of leading blocks (in range
 * order, sequential mode) written before the first error, and sets *err.
 */
static uint64_t write_range(struct dev *d, const struct opts *o,
			    const struct range *r, int *err)
{
	uint8_t *buf = alloc_buf(BATCH_BLOCKS * BLK_SIZE);
	uint64_t *perm = NULL;
	uint64_t done = 0;

	*err = 0;
	if (o->random_order) {
		perm = order_permutation(r->count, o->random_seed);
		for (uint64_t i = 0; i < r->count; i++) {
			uint64_t b = r->first + perm[i] * r->stride;

			fill_block(buf, o->tag, b, o->gen);
			*err = dev_io(d, true, buf, BLK_SIZE, b * BLK_SIZE);
			if (*err) {
				fprintf(stderr, "%s: block %" PRIu64 ": write: %s\n",
					prog, b, strerror(-*err));
				break;
			}
			done++;
		}
		free(perm);
		free(buf);
		return done;
	}
	while (done < r->count) {
		uint64_t b = r->first + done * r->stride;
		uint64_t n = 1;

		if (r->stride == 1)
			n = r->count - done < BATCH_BLOCKS ? r->count - done : BATCH_BLOCKS;
		for (uint64_t i = 0; i < n; i++)
			fill_block(buf + i * BLK_SIZE, o->tag, b + i, o->gen);
		*err = dev_io(d, true, buf, n * BLK_SIZE, b * BLK_SIZE);
		if (*err && n > 1) {
			/* find the exact block that fails */
			for (uint64_t i = 0; i < n; i++) {
				*err = dev_io(d, true, buf + i * BLK_SIZE, BLK_SIZE,
					      (b + i) * BLK_SIZE);
				if (*err) {
					b += i;
					break;
				}
				done++;
			}
		}
		if (*err) {
			if (!o->quiet || *err != -ENOSPC)
				fprintf(stderr, "%s: block %" PRIu64 ": write: %s\n",
					prog, b, strerror(-*err));
			break;
		}
		done += n;
	}
	free(buf);
	return done;
}

static int do_fsync(struct dev *d)
{
	if (fsync(d->fd) < 0) {
		fprintf(stderr, "%s: %s: fsync: %s\n", prog, d->path, strerror(errno));
		return -1;
	}
	return 0;
}

static int cmd_write(struct opts *o)
{
	struct range r;
	struct dev d;
	uint64_t n;
	int err;

	if (!o->have_tag || !o->have_gen)
		usage_error("write needs --tag and --gen");
	if (dev_open(&d, o->dev, true))
		return 2;
	make_range(o, d.size, &r);
	n = write_range(&d, o, &r, &err);
	if (!err && o->fsync && do_fsync(&d))
		err = -EIO;
	close(d.fd);
	if (err)
		return 1;
	if (o->record && record_append(o->record, o, &r))
		return 1;
	if (!o->quiet)
		printf("%s: wrote %" PRIu64 " blocks (tag %" PRIu64 " gen %" PRIu64
		       ", blocks %" PRIu64 "..%" PRIu64 " stride %" PRIu64 "%s)\n",
		       prog, n, o->tag, o->gen, r.first,
		       r.count ? r.first + (r.count - 1) * r.stride : r.first,
		       r.stride, d.direct ? "" : ", buffered");
	return 0;
}

/* ---- verify ---- */

struct verifier {
	uint64_t checked, bad, reported;
	uint8_t *expbuf;
};

static void report(struct verifier *v, uint64_t block, const struct expect *e,
		   const uint8_t *buf)
{
	char found[1024], exp[64];

	v->bad++;
	if (v->reported >= MAX_REPORTS)
		return;
	v->reported++;
	if (e->kind == EXP_ZERO)
		snprintf(exp, sizeof(exp), "zero block");
	else
		snprintf(exp, sizeof(exp), "tag %" PRIu64 " gen %" PRIu64,
			 e->tag, e->gen);
	describe_block(buf, block, found, sizeof(found));
	if (e->kind == EXP_PATTERN) {
		/* Count the bytes that differ from the expected block. */
		uint64_t ndiff = 0, first = 0;

		fill_block(v->expbuf, e->tag, block, e->gen);
		for (unsigned int i = 0; i < BLK_SIZE; i++) {
			if (buf[i] != v->expbuf[i]) {
				if (!ndiff)
					first = i;
				ndiff++;
			}
		}
		if (ndiff && ndiff < BLK_SIZE / 2) {
			size_t len = strlen(found);

			snprintf(found + len, sizeof(found) - len,
				 " [%" PRIu64 " byte%s differ%s from expected, first at byte %"
				 PRIu64 "]", ndiff, ndiff == 1 ? "" : "s",
				 ndiff == 1 ? "s" : "", first);
		}
	}
	printf("block %" PRIu64 ": expected %s, found %s\n", block, exp, found);
}

static bool block_matches(const uint8_t *buf, uint64_t block, const struct expect *e)
{
	struct sec_info si;

	if (e->kind == EXP_ZERO)
		return all_zero(buf, BLK_SIZE);
	for (unsigned int i = 0; i < SECTORS; i++) {
		classify_sector(buf + i * SECTOR_SIZE, &si);
		if (!sec_ok(&si, i, e->tag, block, e->gen))
			return false;
	}
	return true;
}

static void read_error(struct verifier *v, uint64_t block, int err)
{
	v->bad++;
	if (v->reported >= MAX_REPORTS)
		return;
	v->reported++;
	printf("block %" PRIu64 ": read error: %s\n", block, strerror(-err));
}

/*
 * Verify blocks first + k*stride, k < count; expectation from @m when
 * given (EXP_NONE blocks skipped) else @e.
 */
static void verify_range(struct dev *d, struct verifier *v, const struct range *r,
			 const struct map *m, const struct expect *e)
{
	uint8_t *buf = alloc_buf(BATCH_BLOCKS * BLK_SIZE);
	uint64_t k = 0;

	while (k < r->count) {
		uint64_t b = r->first + k * r->stride;
		uint64_t n = 1;
		int err;

		if (r->stride == 1)
			n = r->count - k < BATCH_BLOCKS ? r->count - k : BATCH_BLOCKS;
		err = dev_io(d, false, buf, n * BLK_SIZE, b * BLK_SIZE);
		for (uint64_t i = 0; i < n; i++) {
			const struct expect *x = m ? &m->e[b + i] : e;

			if (x->kind == EXP_NONE)
				continue;
			v->checked++;
			if (err) {
				/* retry alone so the failing block is named */
				int e2 = dev_io(d, false, buf + i * BLK_SIZE,
						BLK_SIZE, (b + i) * BLK_SIZE);
				if (e2) {
					read_error(v, b + i, e2);
					continue;
				}
			}
			if (!block_matches(buf + i * BLK_SIZE, b + i, x))
				report(v, b + i, x, buf + i * BLK_SIZE);
		}
		k += n;
	}
	free(buf);
}

static int verify_summary(const struct verifier *v, const struct opts *o,
			  const char *what)
{
	if (v->bad) {
		if (v->bad > v->reported)
			printf("... and %" PRIu64 " more\n", v->bad - v->reported);
		printf("%s: %s: %" PRIu64 " of %" PRIu64 " blocks wrong\n",
		       prog, what, v->bad, v->checked);
		return 1;
	}
	if (!o->quiet)
		printf("%s: %s: %" PRIu64 " blocks ok\n", prog, what, v->checked);
	return 0;
}

static int cmd_verify(struct opts *o)
{
	struct verifier v = { 0 };
	struct expect e = { 0 };
	struct map m = { 0 };
	struct range r;
	struct dev d;
	int ret;

	if (o->map) {
		if (o->have_tag || o->have_gen)
			usage_error("--map and --tag/--gen exclude each other");
	} else if (o->expect_zero) {
		if (o->have_tag || o->have_gen)
			usage_error("--expect-zero and --tag/--gen exclude each other");
		e.kind = EXP_ZERO;
	} else {
		if (!o->have_tag || !o->have_gen)
			usage_error("verify needs --tag and --gen, --expect-zero or --map");
		e = (struct expect){ .kind = EXP_PATTERN, .tag = o->tag, .gen = o->gen };
	}
	if (dev_open(&d, o->dev, false))
		return 2;
	make_range(o, d.size, &r);
	if (r.count && r.first + (r.count - 1) * r.stride >= d.size / BLK_SIZE)
		usage_error("range beyond the end of %s (%" PRIu64 " bytes)",
			    o->dev, d.size);
	if (o->map) {
		uint64_t nblocks = d.size / BLK_SIZE;

		if (map_load(o->map, nblocks, &m)) {
			close(d.fd);
			return 2;
		}
		if (o->expect_zero)
			for (uint64_t i = 0; i < nblocks; i++)
				if (m.e[i].kind == EXP_NONE)
					m.e[i].kind = EXP_ZERO;
	}
	v.expbuf = alloc_buf(BLK_SIZE);
	verify_range(&d, &v, &r, o->map ? &m : NULL, &e);
	close(d.fd);
	ret = verify_summary(&v, o, "verify");
	free(v.expbuf);
	free(m.e);
	return ret;
}

/* ---- fill-check ---- */

static int cmd_fill_check(struct opts *o)
{
	struct verifier v = { 0 };
	struct expect e;
	struct range r;
	struct dev d;
	uint64_t n;
	int err, ret;

	if (!o->have_tag || !o->have_gen)
		usage_error("fill-check needs --tag and --gen");
	if (o->random_order || o->stride != 1)
		usage_error("fill-check writes sequentially");
	if (dev_open(&d, o->dev, true))
		return 2;
	make_range(o, d.size, &r);
	o->quiet = true;
	n = write_range(&d, o, &r, &err);
	if (err)
		printf("%s: fill-check: wrote %" PRIu64 " blocks, block %" PRIu64
		       " failed: %s\n", prog, n, r.first + n, strerror(-err));
	else
		printf("%s: fill-check: wrote %" PRIu64 " blocks to the end\n", prog, n);
	if (o->fsync && do_fsync(&d))
		printf("%s: fill-check: fsync failed\n", prog);
	r.count = n;
	e = (struct expect){ .kind = EXP_PATTERN, .tag = o->tag, .gen = o->gen };
	v.expbuf = alloc_buf(BLK_SIZE);
	verify_range(&d, &v, &r, NULL, &e);
	close(d.fd);
	o->quiet = false;
	ret = verify_summary(&v, o, "fill-check verify");
	free(v.expbuf);
	return ret;
}

/* ---- describe ---- */

static int cmd_describe(struct opts *o)
{
	char found[1024];
	struct dev d;
	uint8_t *buf;
	int err;

	if (o->offset % BLK_SIZE)
		usage_error("--offset is not a multiple of %u", BLK_SIZE);
	if (dev_open(&d, o->dev, false))
		return 2;
	buf = alloc_buf(BLK_SIZE);
	err = dev_io(&d, false, buf, BLK_SIZE, o->offset);
	close(d.fd);
	if (err) {
		printf("block %" PRIu64 ": read error: %s\n",
		       o->offset / BLK_SIZE, strerror(-err));
		free(buf);
		return 1;
	}
	describe_block(buf, o->offset / BLK_SIZE, found, sizeof(found));
	printf("block %" PRIu64 ": %s\n", o->offset / BLK_SIZE, found);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "tag", required_argument, NULL, 't' },
		{ "gen", required_argument, NULL, 'g' },
		{ "offset", required_argument, NULL, 'o' },
		{ "length", required_argument, NULL, 'l' },
		{ "stride", required_argument, NULL, 's' },
		{ "random-order", required_argument, NULL, 'r' },
		{ "fsync", no_argument, NULL, 'f' },
		{ "expect-zero", no_argument, NULL, 'z' },
		{ "record", required_argument, NULL, 'R' },
		{ "map", required_argument, NULL, 'm' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .stride = 1 };
	const char *cmd;
	int c;

	if (argc < 2)
		usage_error("missing command");
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 't': o.tag = arg_u64("--tag", optarg, false); o.have_tag = true; break;
		case 'g': o.gen = arg_u64("--gen", optarg, false); o.have_gen = true; break;
		case 'o': o.offset = arg_u64("--offset", optarg, true); break;
		case 'l':
			o.length = arg_u64("--length", optarg, true);
			o.have_length = true;
			break;
		case 's':
			o.stride = arg_u64("--stride", optarg, false);
			if (!o.stride)
				usage_error("--stride must be at least 1");
			break;
		case 'r':
			o.random_seed = arg_u64("--random-order", optarg, false);
			o.random_order = true;
			break;
		case 'f': o.fsync = true; break;
		case 'z': o.expect_zero = true; break;
		case 'R': o.record = optarg; break;
		case 'm': o.map = optarg; break;
		case 'q': o.quiet = true; break;
		case 'h': usage(stdout); return 0;
		default: usage_error("bad option");
		}
	}
	if (optind != argc - 1)
		usage_error("%s needs exactly one DEV", cmd);
	o.dev = argv[optind];

	if (!strcmp(cmd, "write")) {
		if (o.expect_zero || o.map)
			usage_error("--expect-zero/--map are for verify");
		return cmd_write(&o);
	}
	if (o.fsync || o.random_order || o.record) {
		if (strcmp(cmd, "fill-check") || o.random_order || o.record)
			usage_error("--fsync/--random-order/--record are for write");
	}
	if (!strcmp(cmd, "verify"))
		return cmd_verify(&o);
	if (!strcmp(cmd, "fill-check"))
		return cmd_fill_check(&o);
	if (!strcmp(cmd, "describe"))
		return cmd_describe(&o);
	usage_error("unknown command '%s'", cmd);
}
