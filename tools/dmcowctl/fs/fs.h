/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dmcowctl file-level subsystem: views of volumes as mounted filesystems,
 * and the questions answered from block reference counts and the block
 * delta instead of file data (du, cowlinks, diff, restore-files).
 *
 * One file per concern:
 *   view.c     mount/umount of a volume through a hidden throwaway snapshot
 *   pmap.c     pool mappings and holders under a held metadata root (core)
 *   extents.c  FIEMAP of a file, in ranged calls
 *   walk.c     walking a view's tree, resolving PATH arguments inside it
 *   ext4.c     ext4: changed inode-table blocks -> inode numbers (libext2fs)
 *   xfs.c      xfs: changed inode clusters -> inode numbers (bulkstat)
 *   du.c, cowlinks.c, diff.c, restore.c: the commands' engines
 *
 * This header uses plain C types only: pmap.c is built on the core headers,
 * view.c on libdevmapper's side (see ../offline.h).
 */
#ifndef DMCOWCTL_FS_H
#define DMCOWCTL_FS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "args.h"

void dmcowctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Keeps big buffers of rarely used helpers off their callers' frames. */
#ifndef noinline
#define noinline __attribute__((noinline))
#endif

/*----------------------------------------------------------------
 * Views (view.c)
 *--------------------------------------------------------------*/

enum fs_type { FS_UNKNOWN, FS_EXT4, FS_XFS };

const char *fs_type_name(enum fs_type t);

/*
 * A volume seen as a mounted filesystem: either its own mount (a live
 * volume mounted by the user) or a mount of a hidden throwaway snapshot of
 * it, where journal/log recovery happened without touching the volume.
 */
struct fs_view {
	char pool[POOL_NAME_LEN];
	char name[VOL_NAME_LEN];	/* the volume shown */
	uint64_t vol_id;
	uint64_t view_id;	/* the throwaway; == vol_id for a live mount */
	bool throwaway;		/* view_id is ours: delete it at close */
	bool temp_dir;		/* dir was made by us: remove it at close */
	bool mounted_here;	/* we mounted dir: unmount it at close */
	bool live;		/* the user's own mount of the volume */
	bool keep;		/* VIEW_KEEP: view_close() leaves it mounted */
	char dev[160];		/* /dev/mapper/... of the mounted device */
	char dir[PATH_MAX];
	enum fs_type type;
	int root_fd;		/* open directory of dir */
	int handle_type;	/* of the root's file handle (0: none) */
	uint32_t chunk_sectors;
	uint64_t size_sectors;
};

#define VIEW_RW (1u << 0)	/* mount read-write */
#define VIEW_SNAPSHOT_ONLY (1u << 1)	/* refuse volumes without an origin */
#define VIEW_KEEP (1u << 2)	/* leave it mounted: 'dmcowctl mount' */
#define VIEW_USE_LIVE (1u << 3)	/* use the volume's own mount if it has one */

/*
 * Makes a view of POOL/NAME mounted at @dir (a temporary directory when
 * NULL).  Prints one sentence and returns an exit status on failure, having
 * undone everything.
 */
int view_open(const char *pool, const char *name, const char *dir,
	      unsigned int flags, struct fs_view **vp);
/*
 * Unmounts and deletes what view_open() made (unless VIEW_KEEP) and frees
 * @v; NULL is fine.  Returns an exit status.
 */
int view_close(struct fs_view *v);
/* view_close() of two views, torn down at the same time. */
int view_close_pair(struct fs_view *a, struct fs_view *b);
/* dmcowctl umount DIR: a view mounted by 'dmcowctl mount', or its leftovers. */
int view_umount_dir(const char *dir);
/*
 * The volume of @pool whose mounted filesystem holds @path (which need not
 * exist yet, its directory must; @want_dir: it must be or become a
 * directory).  Prints why not and returns non-zero if there is none.
 */
int view_dest_volume(const char *pool, const char *path, bool want_dir,
		     uint64_t *vol_id);

/*----------------------------------------------------------------
 * Pool mappings under a held metadata root (pmap.c)
 *--------------------------------------------------------------*/

struct pmap;

#define PMAP_F_DELETING (1u << 0)	/* a deleting record (not a volume) */
#define PMAP_F_VIEW (1u << 1)		/* a throwaway view: not a holder */

struct pmap_record {
	uint64_t id;
	char name[64];
	uint64_t origin;	/* ~0: none */
	uint64_t family;
	uint32_t flags;		/* PMAP_F_* */
	uint64_t mapped, exclusive, written;	/* as recorded */
	uint64_t account_cursor;	/* deleting records */
};

/* Reserves (or borrows) the pool's held root and opens it read-only. */
int pmap_open(const char *pool, struct pmap **pm);
void pmap_close(struct pmap *pm);
uint32_t pmap_chunk_sectors(const struct pmap *pm);
/* Volume or deleting record @id; -ENOENT if the held root has none. */
int pmap_record(struct pmap *pm, uint64_t id, struct pmap_record *rec);

/* A volume's mappings: sorted (vchunk, dchunk) pairs. */
struct vmap {
	uint64_t *vchunk, *dchunk;
	size_t nr;
	/* From pmap_holders(): other holders of each entry's chunk. */
	uint16_t *nr_others;
	uint64_t *with;		/* bit i: sharers[i] holds it (first 64) */
	struct pmap_record *sharers;
	size_t nr_sharers;
};

int pmap_map_volume(struct pmap *pm, uint64_t id, struct vmap *m);
void vmap_free(struct vmap *m);
/* Index of @vchunk in @m, or -1 if unmapped. */
long vmap_find(const struct vmap *m, uint64_t vchunk);

/*
 * Counts, for every mapping of volume @id, the other records holding the
 * same data chunk (live volumes and deleting records of its family, as the
 * pool's exclusive accounting does; throwaway views are not holders).
 */
int pmap_holders(struct pmap *pm, uint64_t id, struct vmap *m);

/* Chunk ranges [vbegin, vend) where volumes @a and @b map different data. */
int pmap_delta(struct pmap *pm, uint64_t a, uint64_t b,
	       int (*fn)(void *ctx, uint64_t vbegin, uint64_t vend), void *ctx);

/*----------------------------------------------------------------
 * FIEMAP (extents.c)
 *--------------------------------------------------------------*/

struct fx {
	uint64_t logical, physical, length;	/* bytes */
	uint32_t flags;		/* FIEMAP_EXTENT_* */
};

struct fx_list {
	struct fx *v;
	size_t nr, cap;
};

#define FX_SYNC (1u << 0)	/* FIEMAP_FLAG_SYNC: delalloc made real */
#define FX_XATTR (1u << 1)	/* the xattr extents instead of the data */

/* Appends the extents of open file @fd to @l (ranged calls). */
int fx_get(int fd, unsigned int flags, struct fx_list *l);
void fx_free(struct fx_list *l);

/*----------------------------------------------------------------
 * Paths inside a view (walk.c)
 *--------------------------------------------------------------*/

/*
 * Resolves @path (relative to the view's root, a leading '/' allowed)
 * without leaving the view (no "..", symlink or mount escape).  Returns an
 * O_PATH|O_NOFOLLOW descriptor and the normalised path ("/a/b"), or prints
 * why not and returns a negative errno.
 */
int view_resolve(const struct fs_view *v, const char *path, char *norm,
		 size_t len);

/*
 * Opens @path (canonical, from view_resolve() or a walk) inside the view
 * with @flags (O_NOFOLLOW added); -errno, silently, on failure.
 */
int view_open_at(const struct fs_view *v, const char *path, int flags);

/*
 * Opens inode @ino of generation @gen through a file handle (directories
 * are reconnected to their path, other inodes need not be); -ESTALE if the
 * view has no such inode.
 */
int view_open_inode(const struct fs_view *v, uint64_t ino, uint32_t gen, int flags);
/* "/a/b" of an open descriptor inside the view; -EXDEV if not connected. */
int view_fd_path(const struct fs_view *v, int fd, char *norm, size_t len);

struct walk_entry {
	const char *path;	/* "/a/b", "/" for the root */
	const char *name;	/* last component */
	int dir_fd;		/* the directory holding it (root: root_fd) */
	const struct stat *st;
	unsigned int depth;
};

/*
 * Calls @pre for every entry under @path in the view (directories before
 * their contents) and @post for directories after them; either may be NULL.
 * Never crosses into other mounts and never follows symlinks.  A non-zero
 * return stops the walk and is returned.
 */
int view_walk(const struct fs_view *v, const char *path,
	      int (*pre)(void *ctx, const struct walk_entry *e),
	      int (*post)(void *ctx, const struct walk_entry *e), void *ctx);

/*
 * Room for one more element in array @arr of @cap elements holding @nr:
 * doubles it (64 at first).  0, or -ENOMEM with the array as it was.
 */
#define FS_GROW(arr, nr, cap)						\
	({								\
		int __r = 0;						\
		if ((nr) == (cap)) {					\
			size_t __c = (cap) ? 2 * (cap) : 64;		\
			void *__n = realloc((arr), __c * sizeof(*(arr)));	\
			if (__n) {					\
				(arr) = __n;				\
				(cap) = __c;				\
			} else {					\
				__r = -ENOMEM;				\
			}						\
		}							\
		__r;							\
	})

#endif
