// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl receive POOL/NAME [-i FILE] [--resume | --abort | --token] [--json]
 *
 * Rebuilds a volume from a send stream (send/send.h) read from stdin or
 * FILE.  A full stream makes a new volume; an incremental one a snapshot of
 * the local copy of its base (found by identity, see cowtree-send-stream.rst)
 * with the changes applied, so unchanged chunks stay shared with the base.
 *
 * The new volume stays hidden until the end record has been verified, then
 * appears under NAME in one metadata transaction.  Progress is made durable
 * as records arrive (a flush commits the pool, then the next record number
 * goes into the volume's received_mark), so an interrupted receive leaves a
 * hidden partial volume that --resume continues: the sender restarts from
 * the resume token printed here (dmcowctl send -t TOKEN), which --token
 * prints again (after a crash or kill).  --abort deletes the partial
 * volume.
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

#define SYN "receive POOL/NAME [-i FILE] [--resume | --abort | --token] [--json]"

/* Progress is made durable at least this often. */
#define CHECKPOINT_BYTES (16ULL << 20)
#define CHECKPOINT_SECONDS 2.0

struct recv_job {
	struct vol_ref ref;
	const char *in_path;
	bool resume, abort, token, json;
	int in_fd;
	struct cow_pool *pool;
	struct send_reader rd;
	bool rd_open;
	/* The (hidden) volume being received into. */
	uint64_t id;
	bool made;		/* created by this run */
	bool complete;		/* verified but not yet visible (--resume) */
	bool has_base;
	uint64_t base_id;
	char base_name[VOL_NAME_LEN];
	uint64_t next_seq;	/* the next record to apply */
	uint64_t checkpoint;	/* ... as the pool knows it */
	char dev[DEV_NAME_LEN];
	struct send_apply ap;
	bool ap_failure_told;	/* its write failure was reported */
	uint64_t applied, skipped;
	struct timespec t0, last_sync;
	char scratch[POOL_NAME_LEN + VOL_NAME_LEN + SEND_TOKEN_LEN];
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static __attribute__((noinline)) void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static double since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9;
}

/*----------------------------------------------------------------
 * Hidden volumes: the receive into NAME is the hidden volume NAME, which
 * also keeps the name from being taken meanwhile.
 *--------------------------------------------------------------*/

static struct cow_volume *find_partial(struct recv_job *job)
{
	struct cow_volume *v = pool_find(job->pool, job->ref.name);

	return v && (v->flags & COW_VOLUME_HIDDEN) ? v : NULL;
}

/* "create" or "snapshot" of the base: one message, the volume hidden. */
static int create_hidden(struct recv_job *job)
{
	if (!job->has_base)
		return pool_message(job->pool, "creating the volume to receive into",
				    "create %" PRIu64 " %s hidden", job->id, job->ref.name);
	return pool_message(job->pool, "snapshotting the base to receive into",
			    "snapshot %" PRIu64 " %" PRIu64 " %s hidden", job->id,
			    job->base_id, job->ref.name);
}

/* The one transaction that makes the received volume appear as NAME. */
static int publish(struct recv_job *job)
{
	return pool_message(job->pool, "making the received volume visible",
			    "set_visibility %" PRIu64 " visible %s", job->id, job->ref.name);
}

/*----------------------------------------------------------------*/
/* Arguments and input */

static const struct option recv_longopts[] = {
	{ "input", required_argument, NULL, 'i' },
	{ "resume", no_argument, NULL, 'r' },
	{ "abort", no_argument, NULL, 'a' },
	{ "token", no_argument, NULL, 't' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int parse_args(int argc, char **argv, struct recv_job *job)
{
	int c;

	args_begin();
	while ((c = args_next(argc, argv, "i:rajth", recv_longopts, SYN)) != -1) {
		switch (c) {
		case 'i':
			job->in_path = optarg;
			break;
		case 'r':
			job->resume = true;
			break;
		case 'a':
			job->abort = true;
			break;
		case 'j':
			job->json = true;
			break;
		case 't':
			job->token = true;
			break;
		case 'h':
			printf("usage: dmcowctl %s\n", SYN);
			exit(0);
		default:
			return DMCOWCTL_EXIT_USAGE;
		}
	}
	if (ARGS_LEFT(argc) != 1)
		return usage_err(SYN, "receive takes 1 argument");
	if (parse_vol_ref(ARG(argv, 0), &job->ref))
		return DMCOWCTL_EXIT_USAGE;
	if (job->resume + job->abort + job->token > 1)
		return usage_err(SYN, "--resume, --abort and --token exclude each other");
	if ((job->abort || job->token) && job->in_path)
		return usage_err(SYN, "--%s reads no stream", job->abort ? "abort" : "token");
	if (job->in_path && !*job->in_path)
		return usage_err(SYN, "-i needs a file name");
	if (!job->abort && !job->token && !job->in_path && isatty(STDIN_FILENO))
		return usage_err(SYN, "refusing to read a stream from a terminal: pipe one in or use -i FILE");
	return 0;
}

static ssize_t in_read(void *ctx, void *buf, size_t len)
{
	struct recv_job *job = ctx;
	ssize_t n;

	for (;;) {
		if (stop_signal)
			return -EINTR;
		n = read(job->in_fd, buf, len);
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return -errno;
	}
}

static int open_stream(struct recv_job *job)
{
	int r;

	job->in_fd = STDIN_FILENO;
	if (job->in_path) {
		job->in_fd = open(job->in_path, O_RDONLY | O_CLOEXEC);
		if (job->in_fd < 0) {
			dmcowctl_err("cannot open '%s': %s", job->in_path, strerror(errno));
			return DMCOWCTL_EXIT_ERR;
		}
	}
	r = send_reader_open(&job->rd, in_read, job);
	job->rd_open = true;
	if (r) {
		dmcowctl_err("stream: %s; nothing was received", job->rd.err);
		return DMCOWCTL_EXIT_ERR;
	}
	return 0;
}

/*----------------------------------------------------------------*/
/* What the receiving pool holds: the base, or the partial receive */

static bool same_token(const uint8_t *pool_uuid, const struct send_vol *v, uint64_t token)
{
	struct send_ident id;

	send_vol_ident(pool_uuid, v, &id);
	return id.token == token;
}

static __attribute__((noinline)) int find_base(struct recv_job *job, const uint8_t *pool_uuid,
		     const struct send_vol *vols, size_t nr)
{
	const struct send_header *h = &job->rd.hdr;
	const struct send_vol *changed = NULL;
	size_t i;

	for (i = 0; i < nr; i++) {
		if (send_vol_partial(&vols[i]) || (vols[i].flags & COW_VOLUME_HIDDEN))
			continue;
		if (same_token(pool_uuid, &vols[i], h->base.token)) {
			job->has_base = true;
			job->base_id = vols[i].id;
			snprintf(job->base_name, sizeof(job->base_name), "%s", vols[i].name);
			return 0;
		}
		if (vols[i].received_from == h->base.token)
			changed = &vols[i];
	}
	if (changed)
		dmcowctl_err("volume '%s' was received from this stream's base but has changed since (its mappings differ): roll it back to a snapshot taken when it was received, or receive a full stream",
			     changed->name);
	else
		dmcowctl_err("pool '%s' holds no copy of this stream's base (transaction %" PRIu64 ", fingerprint %016" PRIx64 "): receive the base first, or send from a base this pool holds",
			     job->pool->name, h->base.txn, h->base.fingerprint);
	return -ENOENT;
}

/* --resume: the partial volume must be receiving this very stream. */
static __attribute__((noinline)) int check_partial(struct recv_job *job, const struct send_vol *w)
{
	const struct send_header *h = &job->rd.hdr;
	struct send_resume t;
	char *tok = job->scratch;

	if (w->received_from != h->target.token) {
		dmcowctl_err("the partial receive into '%s' is of another stream (identity %016" PRIx64 ", this stream's is %016" PRIx64 "): abort it with --abort first",
			     job->ref.name, w->received_from, h->target.token);
		return -EINVAL;
	}
	job->has_base = !!(h->flags & SEND_HDR_INCREMENTAL);
	job->base_id = w->origin_id;
	if (!send_vol_partial(w)) {
		job->complete = true;
		return 0;
	}
	job->next_seq = job->checkpoint = send_partial_next(w->received_mark);
	if (h->first_seq > job->next_seq) {
		t.target = h->target.token;
		t.base = h->base.token;
		t.seq = job->next_seq;
		send_token_format(&t, tok);
		dmcowctl_err("the stream starts at record %" PRIu64 ", the partial receive needs record %" PRIu64 ": send with -t %s",
			     h->first_seq, job->next_seq, tok);
		return -EINVAL;
	}
	return 0;
}

static int read_pool_state(struct recv_job *job, struct cow_volume *partial)
{
	struct send_vol *vols = NULL;
	struct send_md *md = NULL;
	struct live_hold hold;
	size_t i, nr = 0;
	int r;

	r = send_hold(job->pool->name, &hold);
	if (r)
		return r;
	r = send_md_open(hold.meta_path, hold.held, &md);
	if (!r)
		r = send_md_volumes(md, &vols, &nr);
	if (r) {
		if (md)
			dmcowctl_err("cannot list the volumes of pool '%s': %s",
				     job->pool->name, strerror(-r));
		goto out;
	}
	if (partial) {
		for (i = 0; i < nr && vols[i].id != partial->id; i++)
			;
		r = i < nr ? check_partial(job, &vols[i]) : -ENOENT;
		if (r == -ENOENT)
			dmcowctl_err("the partial volume vanished from the metadata");
	} else if (job->rd.hdr.flags & SEND_HDR_INCREMENTAL) {
		r = find_base(job, send_md_pool_uuid(md), vols, nr);
	}
out:
	free(vols);
	send_md_close(md);
	live_release(&hold);
	return r;
}

/*----------------------------------------------------------------*/
/* The receiving volume */

/* The base must not be written while it is snapshotted. */
static __attribute__((noinline)) int snapshot_base(struct recv_job *job)
{
	struct cow_volume *base = pool_find_id(job->pool, job->base_id);
	bool suspended = false;
	sigset_t block, old;
	int r, rr;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (base && base->nr_devs && !base->suspended) {
		r = dmc_suspend(base->dev, true);
		if (r) {
			r = dm_failed(r, "suspending %s", base->dev);
			goto out;
		}
		suspended = true;
	}
	r = create_hidden(job);
	if (suspended) {
		rr = dmc_resume(base->dev);
		if (rr && !r)
			r = dm_failed(rr, "resuming %s", base->dev);
	}
out:
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

static int make_volume(struct recv_job *job)
{
	const struct send_header *h = &job->rd.hdr;
	int r;

	job->id = pool_next_id(job->pool);
	r = job->has_base ? snapshot_base(job) : create_hidden(job);
	if (r)
		return r;
	job->made = true;
	job->next_seq = job->checkpoint = 1;
	r = pool_message(job->pool, "recording the volume size",
			 "set_size %" PRIu64 " %" PRIu64, job->id, h->size_sectors);
	if (!r)
		r = pool_message(job->pool, "recording the receive's progress",
				 "set_received %" PRIu64 " %#" PRIx64 " %#" PRIx64, job->id,
				 h->target.token, send_partial_mark(1));
	return r;
}

static int activate(struct recv_job *job)
{
	struct cow_volume *v;
	char path[DEV_NAME_LEN + 16];
	int flags = O_WRONLY | O_CLOEXEC;

	if (pool_reload_volumes(job->pool))
		return DMCOWCTL_EXIT_ERR;
	v = pool_find_id(job->pool, job->id);
	if (!v) {
		dmcowctl_err("volume %" PRIu64 " of pool '%s' vanished", job->id, job->pool->name);
		return DMCOWCTL_EXIT_ERR;
	}
	/* A receive that was killed may have left its device behind. */
	if (v->nr_devs && volume_deactivate(job->pool, v))
		return DMCOWCTL_EXIT_ERR;
	if ((size_t)snprintf(job->dev, sizeof(job->dev), "%s-receive-%" PRIu64,
			     job->pool->name, job->id) >= sizeof(job->dev)) {
		dmcowctl_err("pool name '%s' is too long for a device name", job->pool->name);
		job->dev[0] = '\0';
		return DMCOWCTL_EXIT_ERR;
	}
	if (volume_activate(job->pool, v, job->dev)) {
		job->dev[0] = '\0';
		return DMCOWCTL_EXIT_ERR;
	}
	snprintf(path, sizeof(path), "/dev/mapper/%s", job->dev);
	/* O_DIRECT: a write error (no space) shows at once, not at the flush. */
	job->ap.fd = open(path, flags | O_DIRECT);
	if (job->ap.fd < 0 && errno == EINVAL)
		job->ap.fd = open(path, flags);
	if (job->ap.fd < 0) {
		dmcowctl_err("cannot open %s: %s", path, strerror(errno));
		return DMCOWCTL_EXIT_ERR;
	}
	job->ap.chunk_sectors = job->rd.hdr.chunk_sectors;
	job->ap.size_sectors = job->rd.hdr.size_sectors;
	job->ap.unmap_holes = job->has_base;
	if (send_apply_open(&job->ap)) {
		dmcowctl_err("out of memory");
		return DMCOWCTL_EXIT_ERR;
	}
	return 0;
}

static int deactivate(struct recv_job *job)
{
	int r;

	send_apply_close(&job->ap);
	if (job->ap.fd > 0)
		close(job->ap.fd);
	job->ap.fd = -1;
	if (!job->dev[0])
		return 0;
	r = dmc_remove(job->dev);
	if (r)
		return dm_failed(r, "removing the device %s the receive made", job->dev);
	job->dev[0] = '\0';
	return 0;
}

/* A failure to apply a record, said once (with advice if it can be cured). */
static void apply_failed(struct recv_job *job, int r)
{
	if (job->ap_failure_told)
		return;
	job->ap_failure_told = true;
	dmcowctl_err("%s", job->ap.err);
	if (r == -ENOSPC)
		dmcowctl_err("pool '%s' is out of data space: extend it ('dmcowctl pool extend'), then resume",
			     job->pool->name);
}

/*
 * Everything applied is durable, then the pool knows where to go on.  If
 * a write failed, the records before it are kept: the pool learns that
 * far, and the failure is returned.
 */
static int checkpoint(struct recv_job *job)
{
	uint64_t durable;
	int r, failed;

	if (job->next_seq == job->checkpoint)
		return 0;
	failed = send_apply_sync(&job->ap, &durable);
	if (failed) {
		apply_failed(job, failed);
		if (durable <= job->checkpoint)
			return failed;
		job->next_seq = durable;
	}
	if (fail_injected("receive-sync"))
		return -EIO;
	r = pool_message(job->pool, "recording the receive's progress",
			 "set_received %" PRIu64 " %#" PRIx64 " %#" PRIx64, job->id,
			 job->rd.hdr.target.token, send_partial_mark(job->next_seq));
	if (r)
		return -EIO;
	job->checkpoint = job->next_seq;
	clock_gettime(CLOCK_MONOTONIC, &job->last_sync);
	return failed;
}

/*----------------------------------------------------------------*/
/* Applying the stream */

static int apply_stream(struct recv_job *job)
{
	struct send_record rec;
	uint64_t done = 0;
	size_t cap;
	void *buf;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &job->last_sync);
	progress_begin("receive", job->rd.hdr.data_chunks, true);
	for (;;) {
		r = send_apply_buffer(&job->ap, &buf, &cap);
		if (r) {
			progress_end();
			apply_failed(job, r);
			return r;
		}
		send_reader_lend(&job->rd, buf, cap);
		r = send_reader_next(&job->rd, &rec);
		if (r) {
			progress_end();
			dmcowctl_err("stream: %s", job->rd.err);
			return r;
		}
		if (rec.type == SEND_REC_END)
			break;
		if (rec.seq < job->next_seq) {
			job->skipped++;	/* applied before the resume */
			if (rec.type == SEND_REC_DATA)
				progress_update(done += rec.nr_chunks);
			continue;
		}
		r = send_apply_record(&job->ap, &rec);
		if (r) {
			progress_end();
			apply_failed(job, r);
			return r;
		}
		job->applied++;
		job->next_seq = rec.seq + 1;
		if (rec.type == SEND_REC_DATA)
			progress_update(done += rec.nr_chunks);
		if (job->ap.unsynced >= CHECKPOINT_BYTES ||
		    since(&job->last_sync) >= CHECKPOINT_SECONDS) {
			r = checkpoint(job);
			if (r) {
				progress_end();
				return r;
			}
		}
		if (fail_injected("receive-record"))
			return -EIO;
	}
	progress_end();
	/* All records are in: the end record counts as received too. */
	if (!job->complete)
		job->next_seq = job->rd.hdr.first_seq + job->rd.t.records;
	return 0;
}

/*
 * The volume is complete: share every chunk with a snapshot for a moment
 * (so any later write remaps, and shows in its fingerprint), record the
 * fingerprint, and make it visible.
 */
static int finish(struct recv_job *job)
{
	struct send_md *md = NULL;
	struct live_hold hold;
	struct send_vol *v;
	uint64_t tmp_id, mark = 0;
	int r;

	r = pool_reload_volumes(job->pool);
	if (r)
		return r;
	tmp_id = pool_next_id(job->pool);
	r = pool_message(job->pool, "sharing the received volume's chunks",
			 "snapshot %" PRIu64 " %" PRIu64 " .received-%" PRIu64 " throwaway",
			 tmp_id, job->id, job->id);
	if (!r)
		r = pool_message(job->pool, "deleting the temporary snapshot",
				 "delete %" PRIu64, tmp_id);
	if (r)
		return r;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	r = send_hold(job->pool->name, &hold);
	if (!r) {
		r = send_md_open(hold.meta_path, hold.held, &md);
		if (!r)
			r = send_md_volume(md, job->id, v);
		if (!r)
			mark = send_local_mark(&v->root, v->size_sectors);
		send_md_close(md);
		live_release(&hold);
	}
	free(v);
	if (r) {
		dmcowctl_err("cannot read the received volume's mappings: %s", strerror(-r));
		return r;
	}
	r = pool_message(job->pool, "recording where the volume was received from",
			 "set_received %" PRIu64 " %#" PRIx64 " %#" PRIx64, job->id,
			 job->rd.hdr.target.token, mark);
	if (!r && fail_injected("receive-verified"))
		r = DMCOWCTL_EXIT_ERR;
	if (!r)
		r = publish(job);
	return r;
}

/*----------------------------------------------------------------*/
/* Reports */

static void print_token(struct recv_job *job)
{
	const struct send_header *h = &job->rd.hdr;
	struct send_resume t = {
		.target = h->target.token, .base = h->base.token, .seq = job->checkpoint,
	};
	char *tok = job->scratch;
	json_object *j;

	send_token_format(&t, tok);
	dmcowctl_err("the receive stopped at record %" PRIu64 "; volume %" PRIu64 " stays hidden until it is complete. Continue with:\n  dmcowctl send -t %s SRCPOOL/%s%s | dmcowctl receive --resume %s/%s\nor remove it with 'dmcowctl receive --abort %s/%s'",
		     job->checkpoint, job->id, tok, h->name,
		     h->base.token ? " --from SRCPOOL/BASE" : "", job->ref.pool, job->ref.name,
		     job->ref.pool, job->ref.name);
	if (!job->json) {
		fprintf(stderr, "resume token: %s\n", tok);
		return;
	}
	j = json_object_new_object();
	json_object_object_add(j, "volume", json_object_new_string(job->ref.name));
	json_object_object_add(j, "complete", json_object_new_boolean(false));
	json_object_object_add(j, "next_record", json_object_new_int64((int64_t)job->checkpoint));
	json_object_object_add(j, "resume_token", json_object_new_string(tok));
	printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
						      JSON_C_TO_STRING_SPACED));
	json_object_put(j);
}

static void report(struct recv_job *job)
{
	const struct send_totals *t = &job->rd.t;
	uint64_t bytes = t->stream_bytes + sizeof(struct send_disk_rec) +
		sizeof(struct send_disk_end);
	char hb[16];
	json_object *j;

	if (!job->json) {
		printf("received %s/%s (id %" PRIu64 ")%s%s: %s (%" PRIu64 " bytes), %" PRIu64 " data chunks, %" PRIu64 " hole chunks, %" PRIu64 " records%s, %.2f s\n",
		       job->ref.pool, job->ref.name, job->id, job->has_base ? " from " : "",
		       job->has_base ? job->base_name : "", human_size(bytes, hb, sizeof(hb)),
		       bytes, t->data_chunks, t->hole_chunks, t->records,
		       job->skipped ? " (some applied before)" : "", since(&job->t0));
		if (job->ap.hole_chunks_zeroed)
			printf("the pool ignores discards: %" PRIu64 " hole chunks were written as zeroes\n",
			       job->ap.hole_chunks_zeroed);
		return;
	}
	j = json_object_new_object();
	json_object_object_add(j, "volume", json_object_new_string(job->ref.name));
	json_object_object_add(j, "id", json_object_new_int64((int64_t)job->id));
	json_object_object_add(j, "complete", json_object_new_boolean(true));
	json_object_object_add(j, "base", job->has_base && job->base_name[0] ?
			       json_object_new_string(job->base_name) : NULL);
	json_object_object_add(j, "bytes", json_object_new_int64((int64_t)bytes));
	json_object_object_add(j, "data_bytes", json_object_new_int64((int64_t)t->data_bytes));
	json_object_object_add(j, "chunks", json_object_new_int64((int64_t)t->data_chunks));
	json_object_object_add(j, "holes", json_object_new_int64((int64_t)t->hole_chunks));
	json_object_object_add(j, "records", json_object_new_int64((int64_t)t->records));
	json_object_object_add(j, "records_applied", json_object_new_int64((int64_t)job->applied));
	json_object_object_add(j, "records_skipped", json_object_new_int64((int64_t)job->skipped));
	json_object_object_add(j, "holes_zeroed",
			       json_object_new_int64((int64_t)job->ap.hole_chunks_zeroed));
	json_object_object_add(j, "seconds", json_object_new_double(since(&job->t0)));
	printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
						      JSON_C_TO_STRING_SPACED));
	json_object_put(j);
}

/*----------------------------------------------------------------*/

static int abort_partial(struct recv_job *job)
{
	struct cow_volume *w = find_partial(job);

	if (!w) {
		dmcowctl_err("pool '%s' has no partial receive into '%s'", job->ref.pool,
			     job->ref.name);
		return DMCOWCTL_EXIT_ERR;
	}
	if (w->nr_devs && volume_deactivate(job->pool, w))
		return DMCOWCTL_EXIT_ERR;
	if (pool_message(job->pool, "deleting the partial volume", "delete %" PRIu64, w->id))
		return DMCOWCTL_EXIT_ERR;
	printf("partial receive into %s/%s (volume %" PRIu64 ") deleted\n", job->ref.pool,
	       job->ref.name, w->id);
	return 0;
}

/* --token: the resume token of a partial receive, from its record. */
static int show_token(struct recv_job *job)
{
	struct cow_volume *w = find_partial(job);
	struct send_vol *v = NULL;
	struct send_md *md = NULL;
	struct send_resume t = { 0 };
	struct send_ident base;
	struct live_hold hold;
	char *tok = job->scratch;
	int r;

	if (!w) {
		dmcowctl_err("pool '%s' has no partial receive into '%s'", job->ref.pool,
			     job->ref.name);
		return DMCOWCTL_EXIT_ERR;
	}
	v = calloc(2, sizeof(*v));
	if (!v || send_hold(job->pool->name, &hold)) {
		free(v);
		return DMCOWCTL_EXIT_ERR;
	}
	r = send_md_open(hold.meta_path, hold.held, &md);
	if (!r)
		r = send_md_volume(md, w->id, &v[0]);
	if (!r && !send_vol_partial(&v[0])) {
		dmcowctl_err(v[0].received_from ?
			     "the receive into '%s' is complete: 'dmcowctl receive --resume' with the same stream publishes it" :
			     "hidden volume '%s' is not a receive", job->ref.name);
		r = -EINVAL;
	}
	if (!r && v[0].origin_id != ~0ULL) {
		/* Made from the base: the stream's base token is the base's. */
		r = send_md_volume(md, v[0].origin_id, &v[1]);
		if (r == -ENOENT)
			dmcowctl_err("the base of the partial receive into '%s' was deleted: abort the receive",
				     job->ref.name);
		if (!r) {
			send_vol_ident(send_md_pool_uuid(md), &v[1], &base);
			t.base = base.token;
		}
	}
	send_md_close(md);
	live_release(&hold);
	if (!r) {
		t.target = v[0].received_from;
		t.seq = send_partial_next(v[0].received_mark);
		send_token_format(&t, tok);
		printf("%s\n", tok);
	}
	free(v);
	return r ? DMCOWCTL_EXIT_ERR : 0;
}

/* Refusals before anything is made. */
static int check_target(struct recv_job *job, struct cow_volume **partial)
{
	const struct send_header *h = &job->rd.hdr;

	if (job->pool->chunk_sectors != h->chunk_sectors) {
		dmcowctl_err("the stream has chunks of %u KiB, pool '%s' of %u KiB: receive into a pool with the same chunk size",
			     h->chunk_sectors / 2, job->pool->name, job->pool->chunk_sectors / 2);
		return -EINVAL;
	}
	*partial = find_partial(job);
	if (!*partial && pool_find(job->pool, job->ref.name)) {
		dmcowctl_err("pool '%s' already has a volume '%s': choose another name",
			     job->ref.pool, job->ref.name);
		return -EEXIST;
	}
	if (*partial && !job->resume) {
		dmcowctl_err("a partial receive into '%s' exists (volume %" PRIu64 "): continue it with --resume or remove it with --abort",
			     job->ref.name, (*partial)->id);
		return -EEXIST;
	}
	if (!*partial && job->resume) {
		dmcowctl_err("pool '%s' has no partial receive into '%s' to resume",
			     job->ref.pool, job->ref.name);
		return -ENOENT;
	}
	if (*partial)
		job->id = (*partial)->id;
	return 0;
}

/* After a failure: keep what is durable, or leave nothing if nothing is. */
static void stopped(struct recv_job *job)
{
	if (job->next_seq != job->checkpoint)
		checkpoint(job);
	deactivate(job);
	if (job->made && job->checkpoint == 1) {
		pool_message(job->pool, "removing the empty volume", "delete %" PRIu64, job->id);
		dmcowctl_err("nothing was received into %s/%s", job->ref.pool, job->ref.name);
		return;
	}
	print_token(job);
}

static int receive(struct recv_job *job)
{
	struct cow_volume *partial = NULL;
	int r;

	r = check_target(job, &partial);
	if (!r)
		r = read_pool_state(job, partial);
	if (r)
		return DMCOWCTL_EXIT_ERR;
	if (job->complete)
		goto publish;
	if (!partial && make_volume(job)) {
		if (job->made)
			pool_message(job->pool, "removing the new volume", "delete %" PRIu64, job->id);
		return DMCOWCTL_EXIT_ERR;
	}
	r = activate(job);
	if (!r)
		r = apply_stream(job);
	if (!r)
		r = checkpoint(job);
	if (r) {
		stopped(job);
		return DMCOWCTL_EXIT_ERR;
	}
	if (deactivate(job))
		return DMCOWCTL_EXIT_ERR;
	if (finish(job)) {
		dmcowctl_err("the volume is complete but hidden: 'dmcowctl receive --resume %s/%s' with the same stream finishes it",
			     job->ref.pool, job->ref.name);
		return DMCOWCTL_EXIT_ERR;
	}
	report(job);
	return 0;
publish:
	/* Received before: the stream is read to its end and checked only. */
	job->next_seq = UINT64_MAX;
	if (apply_stream(job) || publish(job))
		return DMCOWCTL_EXIT_ERR;
	report(job);
	return 0;
}

int cmd_receive(int argc, char **argv)
{
	struct recv_job *job;
	int r;

	job = calloc(1, sizeof(*job));
	if (!job)
		return DMCOWCTL_EXIT_ERR;
	job->in_fd = -1;
	job->ap.fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &job->t0);
	r = parse_args(argc, argv, job);
	if (r)
		goto out;
	catch_signals();
	if (!job->abort && !job->token) {
		r = open_stream(job);
		if (r)
			goto out;
	}
	r = pool_open(job->ref.pool, &job->pool);
	if (r)
		goto out;
	if (job->abort)
		r = abort_partial(job);
	else if (job->token)
		r = show_token(job);
	else
		r = receive(job);
out:
	if (job->rd_open)
		send_reader_close(&job->rd);
	if (job->in_path && job->in_fd >= 0)
		close(job->in_fd);
	pool_close(job->pool);
	free(job);
	return r;
}
