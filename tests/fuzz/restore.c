// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: `dmcowctl restore` (cmd-restore.c): its input is a user's
 * file.  The input is a dump, text or JSON, read by md_parse() exactly as
 * restore reads it; what parses is then
 *
 *  - printed in both forms (md_print(), what dump writes) and parsed
 *    again: the result must be the same pool (a dump is a backup: what
 *    restore accepts, dump must write back without loss);
 *  - written by md_build() into a fresh metadata file, as restore does;
 *    when that succeeds, the core's checker must find the new pool clean.
 *
 * Bounds of the harness (not of restore): a dump whose mappings add up to
 * more than MAX_MAPPINGS is only parsed (writing is linear in the
 * mappings), the metadata file is MAX_META_BLOCKS blocks, and the checker
 * (memory linear in the data device) runs only on pools of at most
 * MAX_CHECK_CHUNKS data chunks.
 */
#include "fuzz-common.h"
#include "offline.h"
#include "mdev.h"
#include "cow-check.h"

#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>

#define MAX_MAPPINGS 20000u
#define MAX_META_BLOCKS 4096u
#define MAX_CHECK_CHUNKS (1u << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];
static int fd = -1;

static void remove_file(void)
{
	unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	snprintf(path, sizeof(path), "/dev/shm/cowtree-fuzz-restore.%d", getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		fuzz_fail("harness: cannot create %s", path);
	atexit(remove_file);
	return 0;
}

static uint64_t mappings(const struct md_pool *p)
{
	uint64_t n = 0, m;
	size_t i;

	for (i = 0; i < p->nr_vols; i++) {
		m = md_volume_mapped(&p->vols[i]);
		if (m > MAX_MAPPINGS || n + m > MAX_MAPPINGS)
			return UINT64_MAX;
		n += m;
	}
	return n;
}

static void same_volume(const struct md_volume *a, const struct md_volume *b,
			bool json)
{
	const char *form = json ? "JSON" : "text";
	size_t j;

	FUZZ_ASSERT(a->id == b->id && !strcmp(a->name, b->name) &&
		    a->size_sectors == b->size_sectors && a->ctime == b->ctime &&
		    a->origin_id == b->origin_id && a->flags == b->flags &&
		    a->snap_time == b->snap_time && a->origin_time == b->origin_time &&
		    a->mapped == b->mapped && a->exclusive == b->exclusive &&
		    a->written == b->written && a->alloc_hint == b->alloc_hint,
		    "%s round trip changed volume %" PRIu64 " (now %" PRIu64 " '%s')",
		    form, a->id, b->id, b->name);
	FUZZ_ASSERT(a->nr_runs == b->nr_runs,
		    "%s round trip changed the runs of volume %" PRIu64 ": %zu, now %zu",
		    form, a->id, a->nr_runs, b->nr_runs);
	for (j = 0; j < a->nr_runs; j++)
		FUZZ_ASSERT(a->runs[j].vbegin == b->runs[j].vbegin &&
			    a->runs[j].dbegin == b->runs[j].dbegin &&
			    a->runs[j].len == b->runs[j].len &&
			    a->runs[j].time == b->runs[j].time,
			    "%s round trip changed run %zu of volume %" PRIu64,
			    form, j, a->id);
}

/* What dump writes of @p, restore must read back as @p. */
static void round_trip(const struct md_pool *p, bool json)
{
	struct md_pool q;
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f;

	f = open_memstream(&buf, &len);
	if (!f || md_print(f, p, json))
		fuzz_fail("harness: cannot print a dump");
	fclose(f);
	f = fmemopen(buf, len, "r");
	if (!f)
		fuzz_fail("harness: fmemopen");
	if (md_parse(f, "printed", &q))
		fuzz_fail("restore cannot read what dump printed (%s):\n%.2000s",
			  json ? "JSON" : "text", buf);
	fclose(f);
	FUZZ_ASSERT(p->chunk_sectors == q.chunk_sectors &&
		    p->nr_data_chunks == q.nr_data_chunks &&
		    p->nr_metadata_blocks == q.nr_metadata_blocks &&
		    p->user_txn_id == q.user_txn_id && p->time == q.time &&
		    p->nr_vols == q.nr_vols,
		    "%s round trip changed the superblock or the volume count",
		    json ? "JSON" : "text");
	for (i = 0; i < p->nr_vols; i++)
		same_volume(&p->vols[i], &q.vols[i], json);
	md_pool_free(&q);
	free(buf);
}

static void check_built(const struct md_pool *p)
{
	static struct cow_check_report rep;
	struct cow_block_manager *bm;

	if (p->nr_data_chunks > MAX_CHECK_CHUNKS)
		return;
	if (mdev_open_ro(path, false, &bm))
		fuzz_fail("harness: cannot reopen the restored pool");
	if (cow_check_pool(bm, &rep))
		fuzz_fail("harness: the checker could not run");
	mdev_close(bm);
	if (rep.nr_problems) {
		cow_log_quiet = false;
		cow_check_log(&rep);
		fuzz_fail("restore wrote a pool the checker finds damaged (%llu problems)",
			  (unsigned long long)rep.nr_problems);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct md_pool p;
	FILE *f;

	if (!size)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		fuzz_fail("harness: fmemopen");
	if (md_parse(f, "fuzz", &p)) {
		fclose(f);
		return 0;
	}
	fclose(f);
	round_trip(&p, false);
	round_trip(&p, true);
	if (mappings(&p) != UINT64_MAX) {
		/* A fresh, zeroed metadata device for each input. */
		if (ftruncate(fd, 0) || ftruncate(fd, (off_t)MAX_META_BLOCKS * 4096))
			fuzz_fail("harness: cannot size %s", path);
		if (!md_build(path, &p, false))
			check_built(&p);
	}
	md_pool_free(&p);
	return 0;
}
