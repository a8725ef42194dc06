// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree: device-mapper targets "cowtree-pool" and "cowtree".
 *
 * Module setup only; see dm-cowtree-pool.c, dm-cowtree-volume.c and
 * dm-cowtree-io.c, and Documentation/admin-guide/device-mapper/cowtree.rst.
 */
#include "dm-cowtree.h"

#include <linux/module.h>

static int __init dm_cowtree_init(void)
{
	int r;

	r = cow_io_module_init();
	if (r)
		return r;
	r = cow_pool_target_init();
	if (r)
		goto bad_pool;
	r = cow_volume_target_init();
	if (r)
		goto bad_volume;
	return 0;

bad_volume:
	cow_pool_target_exit();
bad_pool:
	cow_io_module_exit();
	return r;
}

static void __exit dm_cowtree_exit(void)
{
	cow_volume_target_exit();
	cow_pool_target_exit();
	cow_io_module_exit();
}

module_init(dm_cowtree_init);
module_exit(dm_cowtree_exit);

MODULE_DESCRIPTION(DM_NAME " copy-on-write tree target with atomic snapshots");
MODULE_AUTHOR("dm-cowtree developers");
MODULE_LICENSE("GPL");
