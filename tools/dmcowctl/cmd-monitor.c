// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl monitor POOL: wait for the pool's dm events (the kernel raises
 * one when free data chunks fall below the low water mark, and on table
 * changes), print the status, and grow the pool when it fills up and its
 * data device is an LVM logical volume.
 *
 * The low water event comes once per crossing and need not match the
 * threshold, so like dmeventd's thin plugin the usage is also checked at
 * start and every --interval seconds: a timer interrupts the wait ioctl.
 */
#define _GNU_SOURCE
#include "dmcowctl.h"
#include "dm.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SYN "monitor POOL [--threshold PCT] [--extend-by SIZE|PCT%] [--interval SECONDS] [--once] [--json]"

/* Extensions in a row for one check, should one step not be enough. */
#define MAX_EXTENDS 16

struct monitor {
	const char *pool;
	unsigned int threshold;		/* percent of data used */
	uint64_t extend_sectors;	/* 0: use extend_percent */
	unsigned int extend_percent;
	unsigned int interval;		/* seconds between checks; 0: events only */
	uint64_t warned_pct;		/* last usage warned about (polls) */
	bool once, json;
};

static const struct option mon_longopts[] = {
	{ "threshold", required_argument, NULL, 't' },
	{ "extend-by", required_argument, NULL, 'e' },
	{ "interval", required_argument, NULL, 'i' },
	{ "once", no_argument, NULL, '1' },
	{ "json", no_argument, NULL, 'j' },
	{ NULL, 0, NULL, 0 },
};

static volatile sig_atomic_t poll_due;

static void on_alarm(int sig)
{
	(void)sig;
	poll_due = 1;
}

/*
 * Arms (or with 0 disarms) a periodic SIGALRM whose handler is installed
 * without SA_RESTART, so it makes the wait ioctl return EINTR.  Periodic,
 * so that a signal arriving just before the ioctl is followed by another.
 */
static void set_timer(unsigned int seconds)
{
	struct itimerval it = {
		.it_interval = { .tv_sec = seconds },
		.it_value = { .tv_sec = seconds },
	};

	setitimer(ITIMER_REAL, &it, NULL);
}

static __attribute__((noinline)) void catch_alarm(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART: the wait returns */
}

/*
 * Finds the data device of the pool and tells whether it is an LVM LV: a
 * dm device whose uuid starts with "LVM-".  Fills its dm name.
 */
static __attribute__((noinline)) bool data_is_lvm(const char *pool, char *lv, size_t lv_len, uint64_t *sectors)
{
	char uuid[160] = "", data[32];
	struct dmc_target t;
	struct dmc_info info;
	unsigned int maj, min;
	bool lvm;

	if (dmc_table(pool, &t))
		return false;
	*sectors = t.length;
	if (sscanf(t.params, "%*s %31s", data) != 1 ||
	    sscanf(data, "%u:%u", &maj, &min) != 2) {
		dmc_target_free(&t);
		return false;
	}
	dmc_target_free(&t);
	if (dmc_info_devno(maj, min, &info, lv, lv_len, uuid, sizeof(uuid)) ||
	    !info.exists)
		return false;	/* not a dm device at all */
	lvm = !strncmp(uuid, "LVM-", 4);
	return lvm;
}

/* Runs lvextend without a shell (the LV name comes from the kernel). */
static __attribute__((noinline)) int run_lvextend(const char *lv, uint64_t sectors)
{
	char size[48], path[DEV_NAME_LEN + 16];
	int status;
	pid_t pid;

	snprintf(size, sizeof(size), "+%" PRIu64 "s", sectors);
	snprintf(path, sizeof(path), "/dev/mapper/%s", lv);
	printf("monitor: running lvextend -L%s %s\n", size, path);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* Not libdevmapper's control fd: lvm warns about leaked fds. */
		close_range(3, ~0U, 0);
		execlp("lvextend", "lvextend", "-L", size, path, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -EIO;
}

static uint64_t used_percent(const struct pool_status *st)
{
	return st->data_total ? st->data_used * 100 / st->data_total : 0;
}

/*
 * Past the threshold: grow an LVM data device and the pool until usage is
 * below the threshold again, or warn.  A periodic check (event false) warns
 * only when usage rose since the last warning.
 */
static __attribute__((noinline)) void handle(struct monitor *m, const struct pool_status *first, bool event)
{
	struct pool_status st = *first;
	uint64_t used_pct = used_percent(&st);
	char lv[DEV_NAME_LEN];
	uint64_t len, by;
	int i;

	if (used_pct < m->threshold) {
		m->warned_pct = 0;
		return;
	}
	if (!data_is_lvm(m->pool, lv, sizeof(lv), &len)) {
		if (!event && used_pct <= m->warned_pct)
			return;
		m->warned_pct = used_pct;
		fprintf(stderr, "dmcowctl: warning: pool '%s' data is %" PRIu64 "%% full and its data device is not an LVM logical volume: grow it and run 'dmcowctl pool extend %s'\n",
			m->pool, used_pct, m->pool);
		return;
	}
	for (i = 0; i < MAX_EXTENDS && used_pct >= m->threshold; i++) {
		by = m->extend_sectors ? m->extend_sectors : len * m->extend_percent / 100;
		if (!by)
			by = (uint64_t)st.chunk_sectors;
		if (run_lvextend(lv, by)) {
			fprintf(stderr, "dmcowctl: warning: lvextend of %s failed: check the volume group's free space\n",
				lv);
			return;
		}
		if (pool_extend(m->pool, false))
			return;
		if (pool_status_read(m->pool, &st))
			return;
		used_pct = used_percent(&st);
		printf("monitor: pool %s extended to %" PRIu64 " data chunks, %" PRIu64 "%% used\n",
		       m->pool, st.data_total, used_pct);
		fflush(stdout);
		if (!data_is_lvm(m->pool, lv, sizeof(lv), &len))
			return;
	}
}

static void print_status(struct monitor *m, const struct pool_status *st)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	if (!m->json) {
		strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
		printf("--- event %u at %s\n", st->event_nr, stamp);
	}
	pool_status_print(m->pool, st, m->json);
	fflush(stdout);
}

int cmd_monitor(int argc, char **argv)
{
	struct monitor m = { .threshold = 80, .extend_percent = 10, .interval = 10 };
	struct pool_status st;
	uint64_t v;
	uint32_t ev;
	int c, r, w;

	args_begin();
	while ((c = args_next(argc, argv, "", mon_longopts, SYN)) != -1) {
		switch (c) {
		case 't':
			if (parse_uint(optarg, &v) || v > 100)
				return usage_err(SYN, "threshold '%s' is not a percentage from 0 to 100",
						 optarg);
			m.threshold = (unsigned int)v;
			break;
		case 'e':
			if (parse_size_or_percent(optarg, &m.extend_sectors, &m.extend_percent) ||
			    (!m.extend_sectors && !m.extend_percent))
				return usage_err(SYN, "'%s' is not a size or percentage (e.g. 1G or 10%%)",
						 optarg);
			break;
		case 'i':
			if (parse_uint(optarg, &v) || v > 86400)
				return usage_err(SYN, "interval '%s' is not a number of seconds from 0 to 86400",
						 optarg);
			m.interval = (unsigned int)v;
			break;
		case '1':
			m.once = true;
			break;
		case 'j':
			m.json = true;
			break;
		default:
			return DMCOWCTL_EXIT_USAGE;
		}
	}
	if (ARGS_LEFT(argc) != 1)
		return usage_err(SYN, "monitor takes POOL");
	m.pool = ARG(argv, 0);
	if (!valid_pool_name(m.pool))
		return DMCOWCTL_EXIT_USAGE;
	r = pool_status_read(m.pool, &st);
	if (r)
		return r;
	handle(&m, &st, true);
	r = pool_status_read(m.pool, &st);
	if (r)
		return r;
	ev = st.event_nr;
	catch_alarm();
	for (;;) {
		/* Blocks in the kernel until the event counter moves past ev. */
		poll_due = 0;
		set_timer(m.interval);
		w = dmc_wait_event(m.pool, ev, &ev);
		set_timer(0);
		if (w && w != -EINTR)
			return dm_failed(w, "waiting for events of pool '%s'", m.pool);
		if (w && !poll_due)
			continue;
		r = pool_status_read(m.pool, &st);
		if (r)
			return r;
		if (w) {
			handle(&m, &st, false);	/* a periodic check */
			continue;
		}
		ev = st.event_nr;
		print_status(&m, &st);
		handle(&m, &st, true);
		if (m.once)
			return 0;
	}
}
