// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree: device-mapper targets "cowtree-pool" and "cowtree".
 *
 * This file registers the targets.  Until the I/O path lands, their
 * constructors refuse every table with a sentence saying so: a table that
 * loads must work.
 */
#include <linux/device-mapper.h>
#include <linux/module.h>

#define DM_MSG_PREFIX "cowtree"

/*----------------------------------------------------------------*/

static int pool_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	ti->error = "cowtree-pool: this build cannot activate pools yet (metadata engine not linked)";
	return -EOPNOTSUPP;
}

static void pool_dtr(struct dm_target *ti)
{
}

static int pool_map(struct dm_target *ti, struct bio *bio)
{
	return DM_MAPIO_KILL;
}

static struct target_type pool_target = {
	.name = "cowtree-pool",
	.version = {0, 1, 0},
	.module = THIS_MODULE,
	.ctr = pool_ctr,
	.dtr = pool_dtr,
	.map = pool_map,
};

/*----------------------------------------------------------------*/

static int volume_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	ti->error = "cowtree: this build cannot activate volumes yet (metadata engine not linked)";
	return -EOPNOTSUPP;
}

static void volume_dtr(struct dm_target *ti)
{
}

static int volume_map(struct dm_target *ti, struct bio *bio)
{
	return DM_MAPIO_KILL;
}

static struct target_type volume_target = {
	.name = "cowtree",
	.version = {0, 1, 0},
	.module = THIS_MODULE,
	.ctr = volume_ctr,
	.dtr = volume_dtr,
	.map = volume_map,
};

/*----------------------------------------------------------------*/

static int __init dm_cowtree_init(void)
{
	int r;

	r = dm_register_target(&pool_target);
	if (r)
		return r;

	r = dm_register_target(&volume_target);
	if (r)
		goto bad_volume;

	return 0;

bad_volume:
	dm_unregister_target(&pool_target);
	return r;
}

static void __exit dm_cowtree_exit(void)
{
	dm_unregister_target(&volume_target);
	dm_unregister_target(&pool_target);
}

module_init(dm_cowtree_init);
module_exit(dm_cowtree_exit);

MODULE_DESCRIPTION(DM_NAME " copy-on-write tree target with atomic snapshots");
MODULE_AUTHOR("dm-cowtree developers");
MODULE_LICENSE("GPL");
