// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl send POOL/SNAP [--from POOL/BASE] [-o FILE] [-t TOKEN] [--dry-run] [--json]
 *
 * Writes SNAP as a stream (send/send.h; cowtree-send-stream.rst) to stdout
 * or FILE: all of it, or with --from only the chunks where it differs from
 * BASE.  Which chunks comes from the metadata alone, under a held metadata
 * snapshot (send/delta.c): chunks the two volumes share are never read,
 * unmapped ranges are sent as holes.  The data is read from the volume's
 * dm device: an inactive volume is activated for the time of the send; an
 * active writable one is sent from a snapshot taken here (one consistent
 * point in time) and deleted at the end.  -t continues an interrupted
 * receive from the record its token names.
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
	char dev[DEV_NAME_LEN];	/* activated by us ("" if not) */
	struct send_header hdr;
	struct send_plan plan;
	size_t first_ext;
	uint64_t first_chunk;
	uint64_t md_blocks;
	int in_fd, out_fd;
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
static __attribute__((noinline)) void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
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

/* An open read-only descriptor of the source volume, activated if need be. */
static int open_source(struct send_job *job)
{
	struct cow_volume *v;
	char path[DEV_NAME_LEN + 16];

	if (pool_reload_volumes(job->pool))
		return DMCOWCTL_EXIT_ERR;
	v = pool_find_id(job->pool, job->src_id);
	if (!v) {
		dmcowctl_err("volume %" PRIu64 " of pool '%s' vanished", job->src_id,
			     job->pool->name);
		return DMCOWCTL_EXIT_ERR;
	}
	if (v->nr_devs) {
		snprintf(path, sizeof(path), "/dev/mapper/%s", v->dev);
	} else {
		if ((size_t)snprintf(job->dev, sizeof(job->dev), "%s-send-%d", job->pool->name,
				     (int)getpid()) >= sizeof(job->dev)) {
			dmcowctl_err("pool name '%s' is too long for a device name", job->pool->name);
			job->dev[0] = '\0';
			return DMCOWCTL_EXIT_ERR;
		}
		if (volume_activate(job->pool, v, job->dev)) {
			job->dev[0] = '\0';
			return DMCOWCTL_EXIT_ERR;
		}
		snprintf(path, sizeof(path), "/dev/mapper/%s", job->dev);
	}
	job->in_fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (job->in_fd < 0) {
		dmcowctl_err("cannot open %s: %s", path, strerror(errno));
		return DMCOWCTL_EXIT_ERR;
	}
	return 0;
}

static void close_source(struct send_job *job)
{
	struct dmc_info info;
	int r;

	if (job->in_fd >= 0)
		close(job->in_fd);
	job->in_fd = -1;
	if (!job->dev[0])
		return;
	r = dmc_remove(job->dev);
	if (r && !dmc_info(job->dev, &info) && info.exists)
		dm_failed(r, "removing the device %s the send made", job->dev);
	job->dev[0] = '\0';
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

static int build_plan(struct send_job *job)
{
	struct send_vol *vols;	/* [0] source, [1] base */
	struct send_md *md = NULL;
	struct live_hold hold;
	uint64_t nr_chunks, blocks0;
	int r;

	vols = calloc(2, sizeof(*vols));
	if (!vols)
		return -ENOMEM;
	r = live_hold(job->pool->name, &hold);
	if (r)
		goto out_free;
	blocks0 = send_md_blocks_read();
	r = send_md_open(hold.meta_path, hold.held, &md);
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
	live_release(&hold);
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

static int read_chunks(struct send_job *job, uint64_t chunk, uint32_t nr)
{
	uint64_t len = send_range_bytes(job->hdr.size_sectors, job->hdr.chunk_sectors,
					chunk, nr);
	off_t off = (off_t)(chunk * job->hdr.chunk_sectors * 512ULL);
	uint64_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(job->in_fd, (char *)job->buf + done, len - done, off + (off_t)done);
		if (n < 0 && errno == EINTR && !stop_signal)
			continue;
		if (n <= 0) {
			dmcowctl_err("reading chunk %" PRIu64 " of '%s': %s", chunk,
				     job->ref.name, n ? strerror(errno) : "unexpected end of device");
			return -EIO;
		}
		done += (uint64_t)n;
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
			if (job->w.write)
				r = read_chunks(job, c, n);
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

int cmd_send(int argc, char **argv)
{
	struct send_job *job;
	int r;

	job = calloc(1, sizeof(*job));
	if (!job)
		return DMCOWCTL_EXIT_ERR;
	job->in_fd = job->out_fd = -1;
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
	if (!job->dry_run) {
		if (posix_memalign(&job->buf, 4096, SEND_MAX_DATA)) {
			job->buf = NULL;
			dmcowctl_err("out of memory");
			goto out;
		}
		if (open_output(job) || open_source(job))
			goto out;
	}
	if (write_stream(job))
		goto out;
	report(job);
	r = 0;
out:
	close_source(job);
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
