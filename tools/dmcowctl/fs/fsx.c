// SPDX-License-Identifier: GPL-2.0-only
/*
 * The filesystem of a view below the VFS: ext4 or xfs (fsx.h).
 */
#include "fs.h"
#include "fsx.h"

#include <errno.h>
#include <stdlib.h>

int fsx_open(const struct fs_view *v, struct fsx **xp)
{
	struct fsx *x = calloc(1, sizeof(*x));
	int r;

	*xp = NULL;
	if (!x)
		return -ENOMEM;
	x->ops = v->type == FS_EXT4 ? &ext4_fsx_ops : &xfs_fsx_ops;
	r = x->ops->open(v, &x->priv);
	if (r) {
		free(x);
		return r;
	}
	*xp = x;
	return 0;
}

void fsx_close(struct fsx *x)
{
	if (!x)
		return;
	x->ops->close(x->priv);
	free(x);
}
