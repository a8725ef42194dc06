// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl send POOL/SNAP [--from POOL/BASE] [-o FILE] [-t TOKEN] [--dry-run] [--json]
 *
 * Writes SNAP as a stream (send/send.h; cowtree-send-stream.rst) to stdout
 * or FILE: all of it, or with --from only the chunks where it differs from
 * BASE.  Which chunks comes from the metadata alone, under a held metadata
 * snapshot (send/delta.c): chunks the two volumes share are never read,
 * unmapped ranges are sent as holes.  The data is read from the pool's
 * data device at the chunks the held snapshot maps (send/source.c), and
 * the snapshot stays held until the last record is written: the pool
 * then neither frees nor overwrites them, whatever happens to the volume
 * meanwhile (deleted, written, rolled back).  No dm device is made for
 * the volume.  An active writable volume is sent from a snapshot taken
 * here (one consistent point in time: its file system is frozen for it)
 * and deleted at the end.  -t continues an interrupted receive from the
 * record its token names.
 */
#define _GNU_SOURCE
#include "dmcowctl.h"
#include "dm.h"
#include "offline.h"
#include "send/send.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#define SYN "send POOL/SNAP [--from POOL/BASE] [-o FILE] [-t TOKEN] [--dry-run] [--json]"

struct send_job {
	struct vol_ref ref, base_ref;
	bool has_base, dry_run, json, resume;
	const char *out_path;
	struct send_resume token;
	struct cow_pool *pool;
	/* Copies: pool_reload_volumes() frees the pool's volume array. */
	struct cow_volume snap_copy, base_copy;
	struct cow_volume *snap, *base;
	/* The volume read: SNAP, or the temporary snapshot of it. */
	uint64_t src_id;
	bool temp_made;
	char temp_name[VOL_NAME_LEN];
	/* Held from the plan until the last record is read. */
	struct live_hold hold;
	struct send_source src;
	char data_path[160];
	struct send_header hdr;
	struct send_plan plan;
	size_t first_ext;
	uint64_t first_chunk;
	uint64_t md_blocks;
	int out_fd;
	void *buf;
	struct send_writer w;
	struct timespec t0;
	char scratch[POOL_NAME_LEN + VOL_NAME_LEN + SEND_TOKEN_LEN];
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* ^C and friends end the send cleanly: the temporary snapshot goes. */
/* The signals that end a send cleanly (on_signal()). */
static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };
#define NR_STOP_SIGNALS (sizeof(stop_signals) / sizeof(stop_signals[0]))

static __attribute__((noinline)) void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	size_t i;

	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NR_STOP_SIGNALS; i++)
		sigaction(stop_signals[i], &sa, NULL);
	/* A closed pipe is an EPIPE error, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
}

static double elapsed(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9;
}

/*----------------------------------------------------------------*/
/* Arguments */

static const struct option send_longopts[] = {
	{ "from", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "resume-token", required_argument, NULL, 't' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* --from BASE or POOL/BASE: in SNAP's pool either way. */
static int parse_base(struct send_job *job, const char *s)
{
	if (!strchr(s, '/')) {
		if (!valid_volume_name(s))
			return DMCOWCTL_EXIT_USAGE;
		job->base_ref = job->ref;
		snprintf(job->base_ref.name, sizeof(job->base_ref.name), "%s", s);
		return 0;
	}
	if (parse_vol_ref(s, &job->base_ref))
		return DMCOWCTL_EXIT_USAGE;
	if (strcmp(job->base_ref.pool, job->ref.pool))
		return usage_err(SYN, "'%s' is in another pool than '%s/%s': the base must be in the same pool",
				 s, job->ref.pool, job->ref.name);
	return 0;
}

static int parse_args(int argc, char **argv, struct send_job *job)
{
	const char *from = NULL, *token = NULL;
	char err[256];
	int c;

	args_begin();
	while ((c = args_next(argc, argv, "f:o:t:njh", send_longopts, SYN)) != -1) {
		switch (c) {
		case 'f':
			from = optarg;
			break;
		case 'o':
			job->out_path = optarg;
			break;
		case 't':
			token = optarg;
			break;
		case 'n':
			job->dry_run = true;
			break;
		case 'j':
			job->json = true;
			break;
		case 'h':
			printf("usage: dmcowctl %s\n", SYN);
			exit(0);
		default:
			return DMCOWCTL_EXIT_USAGE;
		}
	}
	if (ARGS_LEFT(argc) != 1)
		return usage_err(SYN, "send takes 1 argument");
	if (parse_vol_ref(ARG(argv, 0), &job->ref))
		return DMCOWCTL_EXIT_USAGE;
	if (from) {
		job->has_base = true;
		c = parse_base(job, from);
		if (c)
			return c;
		if (!strcmp(job->base_ref.name, job->ref.name))
			return usage_err(SYN, "'%s' cannot be its own base", ARG(argv, 0));
	}
	if (token) {
		if (send_token_parse(token, &job->token, err, sizeof(err)))
			return usage_err(SYN, "%s", err);
		job->resume = true;
	}
	if (job->out_path && !*job->out_path)
		return usage_err(SYN, "-o needs a file name");
	if (!job->dry_run && !job->out_path && isatty(STDOUT_FILENO))
		return usage_err(SYN, "refusing to write a stream to a terminal: redirect it or use -o FILE");
	return 0;
}

/*----------------------------------------------------------------*/
/* The volume to read */

static bool volume_writable(struct cow_volume *v)
{
	struct dmc_info info;

	return v->nr_devs && !dmc_info(v->dev, &info) && info.exists && !info.read_only;
}

/* Snapshot of an active writable SNAP: suspend (freezes a filesystem), message, resume. */
static __attribute__((noinline)) int take_temp_snapshot(struct send_job *job)
{
	struct cow_volume *v = job->snap;
	sigset_t block, old;
	bool suspended = false;
	int r, rr;

	job->src_id = pool_next_id(job->pool);
	snprintf(job->temp_name, sizeof(job->temp_name), ".send-%d", (int)getpid());
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (!v->suspended) {
		r = dmc_suspend(v->dev, true);
		if (r) {
			r = dm_failed(r, "suspending %s", v->dev);
			goto out;
		}
		suspended = true;
	}
	r = pool_message(job->pool, "taking a temporary snapshot to send",
			 "snapshot %" PRIu64 " %" PRIu64 " %s throwaway", job->src_id, v->id,
			 job->temp_name);
	if (!r)
		job->temp_made = true;
	if (suspended) {
		rr = dmc_resume(v->dev);
		if (rr && !r)
			r = dm_failed(rr, "resuming %s (resume it with 'dmsetup resume %s')",
				      v->dev, v->dev);
	}
	if (!r)
		r = pool_message(job->pool, "recording the temporary snapshot's size",
				 "set_size %" PRIu64 " %" PRIu64, job->src_id, v->size);
out:
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

static void drop_temp_snapshot(struct send_job *job)
{
	if (!job->temp_made)
		return;
	if (pool_message(job->pool, "deleting the temporary snapshot",
			 "delete %" PRIu64, job->src_id))
		dmcowctl_err("delete it with 'dmcowctl delete %s/%s'", job->pool->name,
			     job->temp_name);
	job->temp_made = false;
}

/* The pool's data device, where the held snapshot's chunks are read. */
static int open_source(struct send_job *job)
{
	live_devno_path(job->pool->data_dev, job->data_path, sizeof(job->data_path));
	return send_source_open(&job->src, job->data_path, &job->plan) ?
		DMCOWCTL_EXIT_ERR : 0;
}

/*----------------------------------------------------------------*/
/* The plan: identities and extents from a held metadata snapshot */

static int lookup(struct send_md *md, uint64_t id, const char *name, struct send_vol *v)
{
	int r = send_md_volume(md, id, v);

	if (r == -ENOENT)
		dmcowctl_err("volume '%s' is not in the pool's held metadata snapshot: a snapshot held by someone else predates it; release it ('dmsetup message POOL 0 release_metadata_snap') or wait",
			     name);
	else if (r)
		dmcowctl_err("cannot read volume '%s' from the metadata: %s", name, strerror(-r));
	return r;
}

/*
 * live_hold() defers ^C and friends while the snapshot is held; a send may
 * hold it for long, and its own handlers (catch_signals()) end it cleanly,
 * releasing the snapshot.
 */
static void allow_stop_signals(void)
{
	sigset_t set;
	size_t i;

	sigemptyset(&set);
	for (i = 0; i < NR_STOP_SIGNALS; i++)
		sigaddset(&set, stop_signals[i]);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* Holds the pool's metadata snapshot (job->hold) and plans from it. */
static int build_plan(struct send_job *job)
{
	struct send_vol *vols;	/* [0] source, [1] base */
	struct send_md *md = NULL;
	uint64_t nr_chunks, blocks0;
	int r;

	vols = calloc(2, sizeof(*vols));
	if (!vols)
		return -ENOMEM;
	r = send_hold(job->pool->name, &job->hold);
	if (r)
		goto out_free;
	allow_stop_signals();
	blocks0 = send_md_blocks_read();
	r = send_md_open(job->hold.meta_path, job->hold.held, &md);
	if (!r)
		r = lookup(md, job->src_id, job->ref.name, &vols[0]);
	if (!r && job->base)
		r = lookup(md, job->base->id, job->base->name, &vols[1]);
	if (r)
		goto out;
	if (!vols[0].size_sectors) {
		dmcowctl_err("volume '%s' has no recorded size: set one with 'dmcowctl resize %s/%s SIZE --force'",
			     job->ref.name, job->ref.pool, job->ref.name);
		r = -EINVAL;
		goto out;
	}
	if (send_vol_partial(&vols[0]) || (job->base && send_vol_partial(&vols[1]))) {
		dmcowctl_err("volume '%s' is a receive in progress: it cannot be sent",
			     send_vol_partial(&vols[0]) ? job->ref.name : job->base->name);
		r = -EINVAL;
		goto out;
	}
	job->hdr.version = SEND_VERSION;
	job->hdr.chunk_sectors = send_md_chunk_sectors(md);
	job->hdr.size_sectors = vols[0].size_sectors;
	memcpy(job->hdr.pool_uuid, send_md_pool_uuid(md), 16);
	/* The stream names SNAP, even when a temporary snapshot is read. */
	job->hdr.volume_id = job->snap->id;
	job->hdr.volume_ctime = job->snap->ctime;
	snprintf(job->hdr.name, sizeof(job->hdr.name), "%s", job->snap->name);
	send_vol_ident(job->hdr.pool_uuid, &vols[0], &job->hdr.target);
	if (job->base) {
		job->hdr.flags |= SEND_HDR_INCREMENTAL;
		send_vol_ident(job->hdr.pool_uuid, &vols[1], &job->hdr.base);
	}
	nr_chunks = send_nr_chunks(job->hdr.size_sectors, job->hdr.chunk_sectors);
	r = send_md_plan(md, job->base ? &vols[1] : NULL, &vols[0], nr_chunks, &job->plan);
	job->md_blocks = send_md_blocks_read() - blocks0;
out:
	send_md_close(md);
out_free:
	free(vols);
	return r;
}

/* -t: the same volumes as the token's, from the record it names. */
static int apply_token(struct send_job *job)
{
	struct send_header *h = &job->hdr;
	char *tok = job->scratch;
	int r;

	send_token_format(&job->token, tok);
	if (job->token.target != h->target.token) {
		dmcowctl_err("resume token %s is for another volume, or '%s/%s' changed since (its identity is %016" PRIx64 "): start a new receive",
			     tok, job->ref.pool, job->ref.name, h->target.token);
		return -EINVAL;
	}
	if (job->token.base != h->base.token) {
		dmcowctl_err("resume token %s is for %s; send it with %s",
			     tok, job->token.base ? "an incremental stream" : "a full stream",
			     job->token.base ? (job->base ? "the base the receive started from" : "--from BASE") :
			     "no --from");
		return -EINVAL;
	}
	h->flags |= SEND_HDR_RESUMED;
	h->first_seq = job->token.seq;
	if (job->token.seq == job->plan.records + 1) {
		/* Every record arrived: only the end record is missing. */
		job->first_ext = job->plan.nr;
		h->first_chunk = send_nr_chunks(h->size_sectors, h->chunk_sectors);
		h->data_chunks = h->hole_chunks = 0;
		return 0;
	}
	r = send_plan_locate(&job->plan, job->token.seq, &job->first_ext, &h->first_chunk,
			     &h->data_chunks, &h->hole_chunks);
	if (r)
		dmcowctl_err("resume token %s names record %" PRIu64 ", but this stream has %" PRIu64 " records",
			     tok, job->token.seq, job->plan.records);
	job->first_chunk = h->first_chunk;
	return r;
}

/*----------------------------------------------------------------*/
/* Writing */

static int out_write(void *ctx, const void *buf, size_t len)
{
	struct send_job *job = ctx;
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		if (stop_signal)
			return -EINTR;
		n = write(job->out_fd, (const char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

/* Every record from (first_ext, first_chunk) on; data read only if writing. */
static int emit_records(struct send_job *job)
{
	const struct send_extent *e;
	uint64_t c, end, done = 0;
	uint32_t per, n;
	size_t i;
	int r = 0;

	for (i = job->first_ext; !r && i < job->plan.nr; i++) {
		e = &job->plan.ext[i];
		per = send_extent_record_chunks(e, job->hdr.chunk_sectors);
		c = i == job->first_ext && job->first_chunk > e->chunk ? job->first_chunk : e->chunk;
		end = e->chunk + e->nr;
		for (; !r && c < end; c += n) {
			n = (uint32_t)(end - c < per ? end - c : per);
			if (e->hole) {
				r = send_writer_hole(&job->w, c, n);
				continue;
			}
			if (job->w.write && stop_signal)
				r = -EINTR;
			else if (job->w.write)
				r = send_source_read(&job->src, c, n, job->buf);
			if (!r)
				r = send_writer_data(&job->w, c, n, job->buf);
			done += n;
			progress_update(done);
		}
	}
	return r;
}

static int write_stream(struct send_job *job)
{
	send_write_fn fn = job->dry_run ? NULL : out_write;
	int r;

	job->hdr.created = (uint64_t)time(NULL);
	if (!job->resume) {
		job->hdr.first_seq = 1;
		job->hdr.data_chunks = job->plan.data_chunks;
		job->hdr.hole_chunks = job->plan.hole_chunks;
	}
	r = send_writer_begin(&job->w, fn, job, &job->hdr);
	if (r)
		goto fail;
	progress_begin("send", job->hdr.data_chunks, !job->dry_run);
	r = emit_records(job);
	progress_end();
	if (!r)
		r = send_writer_end(&job->w);
	if (!r && fn && job->out_path && fsync(job->out_fd) && errno != EINVAL)
		r = -errno;
	if (!r)
		return 0;
fail:
	if (r == -EPIPE)
		dmcowctl_err("the receiving side closed the stream after %" PRIu64 " bytes",
			     job->w.t.stream_bytes);
	else if (r == -EINTR)
		dmcowctl_err("interrupted by signal %d after %" PRIu64 " bytes", (int)stop_signal,
			     job->w.t.stream_bytes);
	else if (r != -EIO)
		dmcowctl_err("writing the stream%s%s: %s", job->out_path ? " to " : "",
			     job->out_path ? job->out_path : "", strerror(-r));
	return r;
}

/*----------------------------------------------------------------*/
/* Report */

static void report(struct send_job *job)
{
	const struct send_totals *t = &job->w.t;
	uint64_t bytes = t->stream_bytes + sizeof(struct send_disk_rec) +
		sizeof(struct send_disk_end);
	char hb[16], *vol = job->scratch;
	json_object *j;
	FILE *f;

	snprintf(vol, sizeof(job->scratch), "%s/%s", job->ref.pool, job->ref.name);
	/* The stream may be on stdout: a report goes there only if it is not. */
	f = (job->dry_run || job->out_path) ? stdout : stderr;
	if (!job->json) {
		fprintf(f, "%s %s%s%s: %s (%" PRIu64 " bytes), %" PRIu64 " data chunks, %" PRIu64 " hole chunks, %" PRIu64 " records, %.2f s\n",
			job->dry_run ? "would send" : "sent", vol,
			job->base ? " from " : "", job->base ? job->base->name : "",
			human_size(bytes, hb, sizeof(hb)), bytes, t->data_chunks,
			t->hole_chunks, t->records, elapsed(&job->t0));
		return;
	}
	j = json_object_new_object();
	json_object_object_add(j, "volume", json_object_new_string(vol));
	json_object_object_add(j, "base", job->base ?
			       json_object_new_string(job->base->name) : NULL);
	json_object_object_add(j, "dry_run", json_object_new_boolean(job->dry_run));
	json_object_object_add(j, "bytes", json_object_new_int64((int64_t)bytes));
	json_object_object_add(j, "data_bytes", json_object_new_int64((int64_t)t->data_bytes));
	json_object_object_add(j, "chunks", json_object_new_int64((int64_t)t->data_chunks));
	json_object_object_add(j, "holes", json_object_new_int64((int64_t)t->hole_chunks));
	json_object_object_add(j, "records", json_object_new_int64((int64_t)t->records));
	json_object_object_add(j, "chunk_bytes",
			       json_object_new_int64((int64_t)job->hdr.chunk_sectors * 512));
	json_object_object_add(j, "metadata_blocks_read",
			       json_object_new_int64((int64_t)job->md_blocks));
	json_object_object_add(j, "first_record",
			       json_object_new_int64((int64_t)job->hdr.first_seq));
	json_object_object_add(j, "temporary_snapshot", json_object_new_boolean(job->src_id != job->snap->id));
	json_object_object_add(j, "seconds", json_object_new_double(elapsed(&job->t0)));
	fprintf(f, "%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
							     JSON_C_TO_STRING_SPACED));
	json_object_put(j);
}

/*----------------------------------------------------------------*/

static int find_volumes(struct send_job *job)
{
	struct cow_volume *v;

	v = pool_get(job->pool, job->ref.name);
	if (!v)
		return DMCOWCTL_EXIT_ERR;
	job->snap_copy = *v;
	job->snap = &job->snap_copy;
	job->src_id = v->id;
	if (job->has_base) {
		v = pool_get(job->pool, job->base_ref.name);
		if (!v)
			return DMCOWCTL_EXIT_ERR;
		job->base_copy = *v;
		job->base = &job->base_copy;
	}
	if (job->resume && !!job->token.base != job->has_base) {
		dmcowctl_err("the resume token is for %s stream: %s",
			     job->token.base ? "an incremental" : "a full",
			     job->token.base ? "give --from BASE" : "do not give --from");
		return DMCOWCTL_EXIT_ERR;
	}
	return 0;
}

static int open_output(struct send_job *job)
{
	if (!job->out_path) {
		job->out_fd = STDOUT_FILENO;
		return 0;
	}
	job->out_fd = open(job->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (job->out_fd < 0) {
		dmcowctl_err("cannot create '%s': %s", job->out_path, strerror(errno));
		return DMCOWCTL_EXIT_ERR;
	}
	return 0;
}

/* A record's chunks, read whole (the last chunk of a volume may be short). */
static size_t buf_bytes(struct send_job *job)
{
	size_t chunk = job->hdr.chunk_sectors * 512ull;

	return chunk > SEND_MAX_DATA ? chunk : SEND_MAX_DATA;
}

int cmd_send(int argc, char **argv)
{
	struct send_job *job;
	int r;

	job = calloc(1, sizeof(*job));
	if (!job)
		return DMCOWCTL_EXIT_ERR;
	job->src.fd = job->out_fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &job->t0);
	r = parse_args(argc, argv, job);
	if (r)
		goto out_free;
	catch_signals();
	r = pool_open(job->ref.pool, &job->pool);
	if (r)
		goto out_free;
	r = DMCOWCTL_EXIT_ERR;
	if (find_volumes(job))
		goto out;
	/* A dry run reads no data: the volume as it is now is good enough. */
	if (!job->dry_run && volume_writable(job->snap) && take_temp_snapshot(job))
		goto out;
	if (build_plan(job) || (job->resume && apply_token(job)))
		goto out;
	if (job->dry_run) {
		/* It reads no data: the snapshot need not stay held. */
		live_release(&job->hold);
	} else {
		if (posix_memalign(&job->buf, 4096, buf_bytes(job))) {
			job->buf = NULL;
			dmcowctl_err("out of memory");
			goto out;
		}
		if (open_output(job) || open_source(job))
			goto out;
	}
	r = write_stream(job);
	/* Every chunk is read: others may hold the metadata snapshot now. */
	send_source_close(&job->src);
	live_release(&job->hold);
	if (r) {
		r = DMCOWCTL_EXIT_ERR;
		goto out;
	}
	report(job);
	r = 0;
out:
	send_source_close(&job->src);
	live_release(&job->hold);
	drop_temp_snapshot(job);
	if (job->out_path && job->out_fd >= 0 && close(job->out_fd) && !r) {
		dmcowctl_err("writing '%s': %s", job->out_path, strerror(errno));
		r = DMCOWCTL_EXIT_ERR;
	}
	send_plan_free(&job->plan);
	free(job->buf);
	pool_close(job->pool);
out_free:
	free(job);
	return r;
}
