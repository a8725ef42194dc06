// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree: device-mapper targets "cowtree-pool" and "cowtree".
 *
 * Module setup only; see dm-cowtree-pool.c, dm-cowtree-volume.c and
 * dm-cowtree-io.c, and Documentation/admin-guide/device-mapper/cowtree.rst.
 */
#include "dm-cowtree.h"

#include <linux/module.h>
#include <linux/moduleparam.h>

int cow_copy_mode = COW_COPY_AUTO;

static const char * const copy_mode_names[] = {
	[COW_COPY_AUTO] = "auto",
	[COW_COPY_KCOPYD] = "kcopyd",
	[COW_COPY_RMW] = "rmw",
};

static int copy_mode_set(const char *val, const struct kernel_param *kp)
{
	int i = sysfs_match_string(copy_mode_names, val);

	if (i < 0)
		return -EINVAL;
	WRITE_ONCE(*(int *)kp->arg, i);
	return 0;
}

static int copy_mode_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", copy_mode_names[READ_ONCE(*(int *)kp->arg)]);
}

static const struct kernel_param_ops copy_mode_ops = {
	.set = copy_mode_set,
	.get = copy_mode_get,
};

module_param_cb(copy_mode, &copy_mode_ops, &cow_copy_mode, 0644);
MODULE_PARM_DESC(copy_mode,
		 "How a partly written new chunk is filled: kcopyd, rmw (read-merge-write) or auto (by chunk size; default)");

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
