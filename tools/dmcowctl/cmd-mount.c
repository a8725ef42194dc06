// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl mount POOL/SNAP DIR [--rw]
 * dmcowctl umount DIR
 *
 * A snapshot's filesystem mounted through a hidden throwaway snapshot of
 * it (fs/view.c): recovery happens on the throwaway, SNAP is not touched.
 */
#include "dmcowctl.h"
#include "fs/fs.h"

#include <inttypes.h>
#include <stdio.h>

#define MOUNT_SYN "mount POOL/SNAP DIR [--rw]"
#define UMOUNT_SYN "umount DIR"

static const struct option mount_longopts[] = {
	{ "rw", no_argument, NULL, 'w' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cmd_mount(int argc, char **argv)
{
	unsigned int flags = VIEW_SNAPSHOT_ONLY | VIEW_KEEP;
	struct fs_view *v;
	struct vol_ref ref;
	int c, r;

	args_begin();
	while ((c = args_next(argc, argv, "wh", mount_longopts, MOUNT_SYN)) != -1) {
		switch (c) {
		case 'w':
			flags |= VIEW_RW;
			break;
		case 'h':
			printf("usage: dmcowctl %s\n", MOUNT_SYN);
			return 0;
		default:
			return DMCOWCTL_EXIT_USAGE;
		}
	}
	if (ARGS_LEFT(argc) != 2)
		return usage_err(MOUNT_SYN, "mount takes a snapshot and a directory");
	if (parse_vol_ref(ARG(argv, 0), &ref))
		return DMCOWCTL_EXIT_USAGE;
	r = view_open(ref.pool, ref.name, ARG(argv, 1), flags, &v);
	if (r)
		return r;
	printf("mounted %s/%s (%s, %s) at %s through view volume %" PRIu64 "\n",
	       ref.pool, ref.name, fs_type_name(v->type),
	       flags & VIEW_RW ? "read-write" : "read-only", v->dir, v->view_id);
	return view_close(v);
}

static const struct option umount_longopts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cmd_umount(int argc, char **argv)
{
	int c;

	args_begin();
	while ((c = args_next(argc, argv, "h", umount_longopts, UMOUNT_SYN)) != -1) {
		if (c == 'h') {
			printf("usage: dmcowctl %s\n", UMOUNT_SYN);
			return 0;
		}
		return DMCOWCTL_EXIT_USAGE;
	}
	if (ARGS_LEFT(argc) != 1)
		return usage_err(UMOUNT_SYN, "umount takes the directory of a view");
	return view_umount_dir(ARG(argv, 0));
}
