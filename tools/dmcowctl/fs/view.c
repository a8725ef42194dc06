// SPDX-License-Identifier: GPL-2.0-only
/*
 * Views: a volume seen as a mounted filesystem.
 *
 * A view of a volume is a mount of a hidden throwaway snapshot of it (our
 * snapshots are free): journal or log recovery happens there, never on the
 * volume, so the view shows a recovered, consistent filesystem while the
 * volume stays bit for bit what it was.  The throwaway is deleted when the
 * view goes away; one left behind by a crash is deleted by the kernel when
 * the pool is next activated (it is a THROWAWAY volume, hidden from 'list'
 * without --all).
 *
 * A record /run/dmcowctl/views/POOL.ID names the directory of each view, so
 * that 'umount DIR' also cleans up after a plain umount(8) of the view.
 *
 * The filesystem is probed with libblkid and mounted with libmount (no
 * helpers).  xfs views are mounted with nouuid: the origin may be mounted.
 */
#define _GNU_SOURCE
#include "dmcowctl.h"
#include "dm.h"
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <blkid.h>
#include <libmount.h>

#define RUN_DIR "/run/dmcowctl"
#define RECORD_DIR RUN_DIR "/views"
/* Names of the views' throwaway snapshots. */
#define VIEW_PREFIX ".view-"

const char *fs_type_name(enum fs_type t)
{
	switch (t) {
	case FS_EXT4:
		return "ext4";
	case FS_XFS:
		return "xfs";
	default:
		return "unknown";
	}
}

/* Our views are throwaway volumes (a receive in progress is only hidden). */
static bool is_view_volume(const struct cow_volume *v)
{
	return v->flags & COW_VOLUME_THROWAWAY;
}

/*----------------------------------------------------------------*/
/* The throwaway snapshot */

/*
 * Snapshot @origin as the hidden throwaway @id.  An active origin is
 * suspended (its filesystem frozen) around the message, as 'snapshot' does.
 */
static noinline int make_throwaway(struct cow_pool *p, struct cow_volume *origin,
			  uint64_t id, const char *name)
{
	sigset_t block, old;
	bool suspended = false;
	int r, rr = 0;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (origin->nr_devs > 1) {
		dmcowctl_err("volume '%s' is mapped by %u devices: deactivate all but one first",
			     origin->name, origin->nr_devs);
		r = DMCOWCTL_EXIT_ERR;
		goto out;
	}
	if (origin->nr_devs && !origin->suspended) {
		r = dmc_suspend(origin->dev, true);
		if (r) {
			r = dm_failed(r, "suspending %s", origin->dev);
			goto out;
		}
		suspended = true;
	}
	r = pool_message(p, "creating the view's snapshot",
			 "snapshot %" PRIu64 " %" PRIu64 " %s throwaway", id, origin->id, name);
	if (suspended) {
		rr = dmc_resume(origin->dev);
		if (rr)
			rr = dm_failed(rr, "resuming %s (resume it with 'dmsetup resume %s')",
				       origin->dev, origin->dev);
	}
	if (!r && !rr)
		r = pool_message(p, "recording the view's size",
				 "set_size %" PRIu64 " %" PRIu64, id, origin->size);
out:
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r ? r : rr;
}

/*----------------------------------------------------------------*/
/* Records */

static void record_path(const char *pool, uint64_t id, char *buf, size_t len)
{
	snprintf(buf, len, RECORD_DIR "/%s.%" PRIu64, pool, id);
}

static noinline int record_write(const struct fs_view *v)
{
	char path[POOL_NAME_LEN + 64];
	FILE *f;

	if ((mkdir(RUN_DIR, 0755) && errno != EEXIST) ||
	    (mkdir(RECORD_DIR, 0755) && errno != EEXIST)) {
		dmcowctl_err("cannot create %s: %s", RECORD_DIR, strerror(errno));
		return -errno;
	}
	record_path(v->pool, v->view_id, path, sizeof(path));
	f = fopen(path, "w");
	if (!f) {
		dmcowctl_err("cannot write %s: %s", path, strerror(errno));
		return -errno;
	}
	fprintf(f, "%s\n%s\n%s\n", v->dir, v->name, v->dev);
	if (fclose(f)) {
		dmcowctl_err("cannot write %s: %s", path, strerror(errno));
		return -EIO;
	}
	return 0;
}

static void record_remove(const char *pool, uint64_t id)
{
	char path[POOL_NAME_LEN + 64];

	record_path(pool, id, path, sizeof(path));
	unlink(path);
}

/* Finds the record naming @dir: pool and view id.  -ENOENT if none. */
static int record_find(const char *dir, char *pool, size_t pool_len, uint64_t *id)
{
	char *line = NULL, *dot;
	struct dirent *de;
	int r = -ENOENT;
	size_t cap = 0;
	DIR *d;
	FILE *f;
	int dfd;

	d = opendir(RECORD_DIR);
	if (!d)
		return -ENOENT;
	dfd = dirfd(d);
	while (r && (de = readdir(d))) {
		dot = strrchr(de->d_name, '.');
		if (de->d_name[0] == '.' || !dot)
			continue;
		f = fdopen(openat(dfd, de->d_name, O_RDONLY | O_CLOEXEC), "r");
		if (!f)
			continue;
		if (getline(&line, &cap, f) > 0) {
			line[strcspn(line, "\n")] = '\0';
			if (!strcmp(line, dir)) {
				snprintf(pool, pool_len, "%.*s", (int)(dot - de->d_name),
					 de->d_name);
				*id = strtoull(dot + 1, NULL, 10);
				r = 0;
			}
		}
		fclose(f);
	}
	free(line);
	closedir(d);
	return r;
}

/*----------------------------------------------------------------*/
/* Probe and mount */

/*
 * Looks for ext4 and xfs first: a probe for every type blkid knows reads
 * some sixty signature places of a cold device, and a view is made twice
 * per diff.  Only when neither is there does the full probe name what is.
 */
static noinline int probe(const char *dev, enum fs_type *type, char *found, size_t len)
{
	static char *ours[] = { "ext4", "xfs", NULL };
	const char *t = NULL;
	blkid_probe pr;
	int r;

	*type = FS_UNKNOWN;
	snprintf(found, len, "nothing blkid recognises");
	pr = blkid_new_probe_from_filename(dev);
	if (!pr) {
		dmcowctl_err("cannot probe %s: %s", dev, strerror(errno));
		return -EIO;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
	r = blkid_probe_filter_superblocks_type(pr, BLKID_FLTR_ONLYIN, ours);
	if (!r)
		r = blkid_do_safeprobe(pr);
	if (r) {
		blkid_reset_probe(pr);
		blkid_probe_reset_superblocks_filter(pr);
		r = blkid_do_safeprobe(pr);
	}
	if (r == 0 && !blkid_probe_lookup_value(pr, "TYPE", &t, NULL)) {
		snprintf(found, len, "%s", t);
		if (!strcmp(t, "ext4"))
			*type = FS_EXT4;
		else if (!strcmp(t, "xfs"))
			*type = FS_XFS;
	} else if (r == -2) {
		snprintf(found, len, "several filesystem signatures");
	}
	blkid_free_probe(pr);
	return 0;
}

static noinline int do_mount(const char *dev, const char *dir, enum fs_type type, bool rw)
{
	struct libmnt_context *cxt = mnt_new_context();
	char msg[256], opts[32];
	int r;

	if (!cxt)
		return -ENOMEM;
	snprintf(opts, sizeof(opts), "%s%s", rw ? "rw" : "ro",
		 type == FS_XFS ? ",nouuid" : "");
	mnt_context_disable_helpers(cxt, 1);
	mnt_context_disable_mtab(cxt, 1);
	mnt_context_set_source(cxt, dev);
	mnt_context_set_target(cxt, dir);
	mnt_context_set_fstype(cxt, fs_type_name(type));
	mnt_context_set_options(cxt, opts);
	r = mnt_context_mount(cxt);
	if (r || mnt_context_get_status(cxt) != 1) {
		mnt_context_get_excode(cxt, r, msg, sizeof(msg));
		dmcowctl_err("cannot mount %s on %s: %s", dev, dir,
			     msg[0] ? msg : strerror(r < 0 ? -r : EIO));
		r = -EIO;
	}
	mnt_free_context(cxt);
	return r;
}

static noinline int do_umount(const char *dir)
{
	struct libmnt_context *cxt = mnt_new_context();
	char msg[256];
	int r;

	if (!cxt)
		return -ENOMEM;
	mnt_context_disable_helpers(cxt, 1);
	mnt_context_disable_mtab(cxt, 1);
	mnt_context_set_target(cxt, dir);
	r = mnt_context_umount(cxt);
	if (r || mnt_context_get_status(cxt) != 1) {
		mnt_context_get_excode(cxt, r, msg, sizeof(msg));
		dmcowctl_err("cannot unmount %s: %s", dir,
			     msg[0] ? msg : strerror(r < 0 ? -r : EIO));
		r = -EBUSY;
	}
	mnt_free_context(cxt);
	return r;
}

/* True if something is mounted on @dir (which must be a real path). */
static bool is_mount_point(const char *dir)
{
	struct libmnt_table *tb = mnt_new_table_from_file("/proc/self/mountinfo");
	bool yes;

	if (!tb)
		return false;
	yes = mnt_table_find_target(tb, dir, MNT_ITER_BACKWARD) != NULL;
	mnt_unref_table(tb);
	return yes;
}

/* Devno of what is mounted on @dir; false if nothing is. */
static bool mounted_devno(const char *dir, dev_t *devno)
{
	struct libmnt_table *tb = mnt_new_table_from_file("/proc/self/mountinfo");
	struct libmnt_fs *fs;

	if (!tb)
		return false;
	fs = mnt_table_find_target(tb, dir, MNT_ITER_BACKWARD);
	if (fs)
		*devno = mnt_fs_get_devno(fs);
	mnt_unref_table(tb);
	return fs != NULL;
}

/*----------------------------------------------------------------*/
/* Opening and closing views */

static int check_dir(const char *dir, char *real, size_t len)
{
	struct stat st;
	char *rp;

	if (stat(dir, &st)) {
		dmcowctl_err("cannot use '%s' as the mount point: %s", dir, strerror(errno));
		return DMCOWCTL_EXIT_ERR;
	}
	if (!S_ISDIR(st.st_mode)) {
		dmcowctl_err("'%s' is not a directory", dir);
		return DMCOWCTL_EXIT_ERR;
	}
	rp = realpath(dir, NULL);
	if (!rp || strlen(rp) >= len) {
		dmcowctl_err("cannot resolve '%s'", dir);
		free(rp);
		return DMCOWCTL_EXIT_ERR;
	}
	snprintf(real, len, "%s", rp);
	free(rp);
	if (is_mount_point(real)) {
		dmcowctl_err("'%s' is busy: something is mounted on it already", real);
		return DMCOWCTL_EXIT_ERR;
	}
	return 0;
}

static int make_temp_dir(struct fs_view *v)
{
	if (mkdir(RUN_DIR, 0755) && errno != EEXIST) {
		dmcowctl_err("cannot create %s: %s", RUN_DIR, strerror(errno));
		return DMCOWCTL_EXIT_ERR;
	}
	snprintf(v->dir, sizeof(v->dir), RUN_DIR "/view.XXXXXX");
	if (!mkdtemp(v->dir)) {
		dmcowctl_err("cannot create a directory in %s: %s", RUN_DIR, strerror(errno));
		return DMCOWCTL_EXIT_ERR;
	}
	v->temp_dir = true;
	return 0;
}

/* Type of the file handles of the filesystem (0 if it has none). */
static int root_handle_type(int root_fd)
{
	struct file_handle *h = calloc(1, sizeof(*h) + MAX_HANDLE_SZ);
	int mount_id, type = 0;

	if (!h)
		return 0;
	h->handle_bytes = MAX_HANDLE_SZ;
	if (!name_to_handle_at(root_fd, "", h, &mount_id, AT_EMPTY_PATH))
		type = h->handle_type;
	free(h);
	return type;
}

/*
 * The user's own mount of an active volume: 0 if used, -ENOENT if it has
 * none, an exit status if it cannot be used.
 */
static int use_live_mount(struct fs_view *v, struct cow_volume *vol)
{
	char found[64];
	char *mnt;

	if (!vol->nr_devs)
		return -ENOENT;
	mnt = devno_mount_point(vol->major, vol->minor);
	if (!mnt)
		return -ENOENT;
	snprintf(v->dir, sizeof(v->dir), "%s", mnt);
	free(mnt);
	snprintf(v->dev, sizeof(v->dev), "/dev/mapper/%s", vol->dev);
	v->live = true;
	v->view_id = v->vol_id;
	if (probe(v->dev, &v->type, found, sizeof(found)))
		return DMCOWCTL_EXIT_ERR;
	if (v->type == FS_UNKNOWN) {
		dmcowctl_err("%s/%s is mounted at %s but holds %s, not ext4 or xfs",
			     v->pool, v->name, v->dir, found);
		return DMCOWCTL_EXIT_ERR;
	}
	return 0;
}

/* Removes the throwaway's device and the throwaway (best effort, loud). */
static int drop_throwaway(struct cow_pool *p, uint64_t id)
{
	struct cow_volume *tv;
	int r = 0;

	if (pool_reload_volumes(p))
		return DMCOWCTL_EXIT_ERR;
	tv = pool_find_id(p, id);
	if (!tv)
		return 0;
	if (!is_view_volume(tv)) {
		dmcowctl_err("volume %" PRIu64 " of pool '%s' is not a view: not deleting it",
			     id, p->name);
		return DMCOWCTL_EXIT_ERR;
	}
	if (tv->nr_devs)
		r = volume_deactivate(p, tv);
	dmc_debug_step("view device removed");
	if (!r)
		r = pool_message(p, "deleting the view's snapshot", "delete %" PRIu64, id);
	dmc_debug_step("view deleted");
	return r;
}

static int open_throwaway(struct cow_pool *p, struct cow_volume *vol,
			  unsigned int flags, struct fs_view *v)
{
	char vname[VOL_NAME_LEN], dev[DEV_NAME_LEN], found[64];
	struct cow_volume *tv;
	int r;

	v->view_id = pool_next_id(p);
	snprintf(vname, sizeof(vname), VIEW_PREFIX "%" PRIu64, v->view_id);
	r = make_throwaway(p, vol, v->view_id, vname);
	if (r)
		return r;
	v->throwaway = true;
	r = DMCOWCTL_EXIT_ERR;
	if (pool_reload_volumes(p))
		return r;
	tv = pool_find_id(p, v->view_id);
	if (!tv) {
		dmcowctl_err("the view's snapshot %" PRIu64 " is missing from pool '%s'",
			     v->view_id, p->name);
		return r;
	}
	volume_dev_name(p, vname, dev, sizeof(dev));
	if (volume_activate(p, tv, dev))
		return r;
	snprintf(v->dev, sizeof(v->dev), "/dev/mapper/%s", dev);
	if (record_write(v) || probe(v->dev, &v->type, found, sizeof(found)))
		return r;
	if (v->type == FS_UNKNOWN) {
		dmcowctl_err("%s/%s holds %s, not an ext4 or xfs filesystem",
			     v->pool, v->name, found);
		return r;
	}
	if (do_mount(v->dev, v->dir, v->type, flags & VIEW_RW))
		return r;
	v->mounted_here = true;
	return 0;
}

int view_open(const char *pool, const char *name, const char *dir,
	      unsigned int flags, struct fs_view **vp)
{
	struct cow_volume *vol;
	struct fs_view *v;
	struct cow_pool *p;
	int r;

	*vp = v = calloc(1, sizeof(*v));
	if (!v) {
		dmcowctl_err("out of memory");
		return DMCOWCTL_EXIT_ERR;
	}
	v->root_fd = -1;
	snprintf(v->pool, sizeof(v->pool), "%s", pool);
	snprintf(v->name, sizeof(v->name), "%s", name);
	r = pool_open(pool, &p);
	if (r) {
		free(v);
		*vp = NULL;
		return r;
	}
	r = DMCOWCTL_EXIT_ERR;
	vol = pool_get(p, name);
	if (!vol)
		goto out;
	v->vol_id = vol->id;
	v->chunk_sectors = p->chunk_sectors;
	v->size_sectors = vol->size;
	if ((flags & VIEW_SNAPSHOT_ONLY) && !vol->has_origin) {
		dmcowctl_err("%s/%s is not a snapshot (it has no origin): mount its device directly",
			     pool, name);
		goto out;
	}
	if (flags & VIEW_USE_LIVE) {
		r = use_live_mount(v, vol);
		if (r != -ENOENT)
			goto opened;
	}
	r = dir ? check_dir(dir, v->dir, sizeof(v->dir)) : make_temp_dir(v);
	if (r)
		goto out;
	r = open_throwaway(p, vol, flags, v);
opened:
	if (!r) {
		v->root_fd = open(v->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (v->root_fd < 0) {
			dmcowctl_err("cannot open %s: %s", v->dir, strerror(errno));
			r = DMCOWCTL_EXIT_ERR;
		} else {
			v->handle_type = root_handle_type(v->root_fd);
		}
	}
out:
	pool_close(p);
	if (r) {
		view_close(v);
		*vp = NULL;
	} else {
		v->keep = flags & VIEW_KEEP;
	}
	return r;
}

static void close_root(struct fs_view *v)
{
	if (v->root_fd >= 0)
		close(v->root_fd);
	v->root_fd = -1;
}

static int view_teardown(struct fs_view *v)
{
	struct cow_pool *p;
	int r = 0;

	close_root(v);
	if (v->live || v->keep)
		return 0;
	if (v->mounted_here) {
		r = do_umount(v->dir);
		if (r) {
			dmcowctl_err("the view stays mounted at %s: 'dmcowctl umount %s' removes it",
				     v->dir, v->dir);
			return DMCOWCTL_EXIT_ERR;
		}
		v->mounted_here = false;
		dmc_debug_step("view unmounted");
	}
	if (v->throwaway) {
		r = pool_open(v->pool, &p);
		if (!r) {
			r = drop_throwaway(p, v->view_id);
			pool_close(p);
		}
		if (!r) {
			record_remove(v->pool, v->view_id);
			v->throwaway = false;
		}
	}
	if (v->temp_dir && !rmdir(v->dir))
		v->temp_dir = false;
	return r ? DMCOWCTL_EXIT_ERR : 0;
}

int view_close(struct fs_view *v)
{
	int r;

	if (!v)
		return 0;
	r = view_teardown(v);
	free(v);
	return r;
}

static int close_in_turn(struct fs_view *a, struct fs_view *b)
{
	int rb = view_close(b), ra = view_close(a);

	return rb ? rb : ra;
}

int view_close_pair(struct fs_view *a, struct fs_view *b)
{
	int r, status = 0;
	pid_t pid, w;

	if (!a || !b)
		return close_in_turn(a, b);
	/*
	 * Neither process may keep the other's mount busy: the roots are
	 * closed before the fork (view_teardown() would close them first).
	 */
	close_root(a);
	close_root(b);
	/*
	 * Removing a device-mapper device mostly waits (RCU grace periods in
	 * the block layer's teardown): the two views' waits overlap when a
	 * child tears @b down meanwhile.  Views have distinct ids, devices and
	 * mount points, so the two teardowns share nothing.
	 */
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		_exit(view_teardown(b));
	if (pid < 0)
		return close_in_turn(a, b);
	r = view_close(a);
	while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (w < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		r = DMCOWCTL_EXIT_ERR;
	free(b);
	return r;
}

/*----------------------------------------------------------------*/
/* umount DIR */

/* Which pool and volume a mounted dm device maps; non-zero if not ours. */
static noinline int device_volume(dev_t devno, char *pool, size_t len, uint64_t *id)
{
	char name[DEV_NAME_LEN], uuid[8];
	unsigned int pmaj, pmin;
	unsigned long long vid;
	struct dmc_target t;
	struct dmc_info info;
	int r;

	if (dmc_info_devno(major(devno), minor(devno), &info, name, sizeof(name),
			   uuid, sizeof(uuid)) || !info.exists)
		return -ENODEV;
	if (dmc_table(name, &t))
		return -ENODEV;
	r = strcmp(t.type, "cowtree") ||
	    sscanf(t.params, "%u:%u %llu", &pmaj, &pmin, &vid) != 3;
	dmc_target_free(&t);
	if (r)
		return -ENODEV;
	*id = vid;
	if (dmc_info_devno(pmaj, pmin, &info, pool, len, uuid, sizeof(uuid)) ||
	    !info.exists)
		return -ENODEV;
	return 0;
}

static int umount_real(const char *real)
{
	char pool[POOL_NAME_LEN];
	struct cow_volume *tv;
	struct cow_pool *p;
	bool mounted;
	dev_t devno;
	uint64_t id;
	int r;

	mounted = mounted_devno(real, &devno);
	if (mounted) {
		if (device_volume(devno, pool, sizeof(pool), &id)) {
			dmcowctl_err("%s is not a view made by 'dmcowctl mount': what is mounted there is no dm-cowtree volume",
				     real);
			return DMCOWCTL_EXIT_ERR;
		}
	} else if (record_find(real, pool, sizeof(pool), &id)) {
		dmcowctl_err("%s is not a view made by 'dmcowctl mount' (nothing is mounted there and no view records it)",
			     real);
		return DMCOWCTL_EXIT_ERR;
	}
	r = pool_open(pool, &p);
	if (r)
		return r;
	r = DMCOWCTL_EXIT_ERR;
	tv = pool_find_id(p, id);
	if (mounted && (!tv || !is_view_volume(tv))) {
		dmcowctl_err("%s is not a view made by 'dmcowctl mount': it is volume %s of pool '%s'; unmount it with umount(8)",
			     real, tv ? tv->name : "?", pool);
		goto out;
	}
	if (mounted && do_umount(real))
		goto out;
	r = drop_throwaway(p, id);
	if (!r) {
		record_remove(pool, id);
		if (!mounted)
			printf("removed the leftovers of the view at %s (volume %" PRIu64 " of pool '%s')\n",
			       real, id, pool);
	}
out:
	pool_close(p);
	return r;
}

int view_umount_dir(const char *dir)
{
	char *real = realpath(dir, NULL);
	int r;

	if (!real)
		real = strdup(dir);
	if (!real)
		return DMCOWCTL_EXIT_ERR;
	r = umount_real(real);
	free(real);
	return r;
}

/*----------------------------------------------------------------*/
/* Destinations of restore-files */

static int dest_stat(const char *path, bool want_dir, struct stat *st)
{
	char *dir, *slash;
	int r;

	if (!lstat(path, st)) {
		if (want_dir && !S_ISDIR(st->st_mode)) {
			dmcowctl_err("'%s' exists and is not a directory", path);
			return -ENOTDIR;
		}
		if (!want_dir && S_ISDIR(st->st_mode)) {
			dmcowctl_err("'%s' is a directory: give the path the file is restored to",
				     path);
			return -EISDIR;
		}
		return 0;
	}
	if (errno != ENOENT) {
		dmcowctl_err("cannot use '%s': %s", path, strerror(errno));
		return -errno;
	}
	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	r = stat(slash ? dir : ".", st) ? -errno : S_ISDIR(st->st_mode) ? 0 : -ENOTDIR;
	if (r)
		dmcowctl_err("the directory of '%s' does not exist", path);
	free(dir);
	return r;
}

int view_dest_volume(const char *pool, const char *path, bool want_dir,
		     uint64_t *vol_id)
{
	char found[POOL_NAME_LEN];
	struct cow_volume *v;
	struct cow_pool *p;
	struct stat st;
	int r;

	if (dest_stat(path, want_dir, &st))
		return DMCOWCTL_EXIT_ERR;
	if (device_volume(st.st_dev, found, sizeof(found), vol_id) || strcmp(found, pool)) {
		dmcowctl_err("'%s' is not on a mounted volume of pool '%s': restore into a volume of the snapshot's pool",
			     path, pool);
		return DMCOWCTL_EXIT_ERR;
	}
	r = pool_open(pool, &p);
	if (r)
		return r;
	v = pool_find_id(p, *vol_id);
	if (!v || is_view_volume(v)) {
		dmcowctl_err("'%s' is in a view made by dmcowctl, not on a volume of pool '%s'",
			     path, pool);
		r = DMCOWCTL_EXIT_ERR;
	}
	pool_close(p);
	return r;
}
