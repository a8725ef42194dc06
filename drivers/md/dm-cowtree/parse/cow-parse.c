// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree: parsing of table lines and pool messages (see cow-parse.h).
 */
#include "cow-parse.h"

/*----------------------------------------------------------------*/
/* Table lines */

static const char *shift_arg(unsigned int *argc, char ***argv)
{
	if (!*argc)
		return NULL;
	(*argc)--;
	return *(*argv)++;
}

/*
 * "<#feature args>": dm_read_arg_group()'s rules (sscanf "%u" and nothing
 * after it, within [0, 5] and no more than the arguments left) and its
 * error.
 */
static int read_feature_count(unsigned int *argc, char ***argv,
			      unsigned int *count, char **error)
{
	const char *arg = shift_arg(argc, argv);
	char dummy;

	if (!arg || sscanf(arg, "%u%c", count, &dummy) != 1 || *count > 5 ||
	    *argc < *count) {
		*error = "Invalid number of pool feature arguments";
		return -EINVAL;
	}
	return 0;
}

static int parse_features(unsigned int *argc, char ***argv,
			  struct cow_pool_features *pf, char **error)
{
	unsigned int count;
	const char *name;
	int r;

	pf->mode = COW_MODE_WRITE;
	pf->zero_new_chunks = true;
	pf->discard_enabled = true;
	pf->discard_passdown = true;
	pf->error_if_no_space = false;
	if (!*argc)
		return 0;

	r = read_feature_count(argc, argv, &count, error);
	if (r)
		return r;
	while (count--) {
		name = shift_arg(argc, argv);
		if (!strcasecmp(name, "skip_zeroing"))
			pf->zero_new_chunks = false;
		else if (!strcasecmp(name, "ignore_discard"))
			pf->discard_enabled = false;
		else if (!strcasecmp(name, "no_discard_passdown"))
			pf->discard_passdown = false;
		else if (!strcasecmp(name, "read_only"))
			pf->mode = COW_MODE_READ_ONLY;
		else if (!strcasecmp(name, "error_if_no_space"))
			pf->error_if_no_space = true;
		else {
			*error = "Unrecognised pool feature requested";
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_chunk_sectors(const char *arg, u32 *result, char **error)
{
	unsigned int v;

	if (kstrtouint(arg, 10, &v) || v < COW_MIN_CHUNK_SECTORS ||
	    v > COW_MAX_CHUNK_SECTORS || !is_power_of_2(v)) {
		*error = "Invalid chunk size: a power of two from 8 to 2048 sectors";
		return -EINVAL;
	}
	*result = v;
	return 0;
}

int cow_parse_pool_table(unsigned int argc, char **argv, u64 len,
			 struct cow_pool_table *pt, char **error)
{
	unsigned long long low_water;
	int r;

	if (argc < 4) {
		*error = "Invalid argument count: need <metadata dev> <data dev> <chunk sectors> <low water chunks> [features]";
		return -EINVAL;
	}
	pt->metadata_dev = argv[0];
	pt->data_dev = argv[1];
	r = parse_chunk_sectors(argv[2], &pt->chunk_sectors, error);
	if (r)
		return r;
	if (kstrtoull(argv[3], 10, &low_water)) {
		*error = "Invalid low water mark: not a number of chunks";
		return -EINVAL;
	}
	pt->low_water_chunks = low_water;
	argc -= 4;
	argv += 4;
	r = parse_features(&argc, &argv, &pt->pf, error);
	if (r)
		return r;
	if (argc) {
		*error = "Too many arguments after the pool features";
		return -EINVAL;
	}
	if (len < pt->chunk_sectors) {
		*error = "Pool is smaller than one chunk";
		return -EINVAL;
	}
	return 0;
}

int cow_parse_volume_table(unsigned int argc, char **argv,
			   struct cow_volume_table *vt, char **error)
{
	unsigned long long id;

	if (argc != 2) {
		*error = "Invalid argument count: need <pool dev> <volume id>";
		return -EINVAL;
	}
	if (kstrtoull(argv[1], 10, &id) || id > COW_MAX_VOLUME_ID) {
		*error = "Invalid volume id";
		return -EINVAL;
	}
	vt->pool_dev = argv[0];
	vt->id = id;
	return 0;
}

/*----------------------------------------------------------------*/
/* Messages */

/* min_args counts the name; max_args 0: any number. */
static const struct cow_msg_desc messages[] = {
	{ .name = "create", .type = COW_MSG_CREATE,
	  .min_args = 3, .max_args = 4 },
	{ .name = "snapshot", .type = COW_MSG_SNAPSHOT,
	  .min_args = 4, .max_args = 0 },
	{ .name = "delete", .type = COW_MSG_DELETE,
	  .min_args = 2, .max_args = 2 },
	{ .name = "rollback", .type = COW_MSG_ROLLBACK,
	  .min_args = 3, .max_args = 3 },
	{ .name = "set_transaction_id", .type = COW_MSG_SET_TRANSACTION_ID,
	  .min_args = 3, .max_args = 3 },
	{ .name = "reserve_metadata_snap", .type = COW_MSG_RESERVE_METADATA_SNAP,
	  .min_args = 1, .max_args = 1 },
	{ .name = "release_metadata_snap", .type = COW_MSG_RELEASE_METADATA_SNAP,
	  .min_args = 1, .max_args = 1 },
	{ .name = "set_name", .type = COW_MSG_SET_NAME,
	  .min_args = 3, .max_args = 3 },
	{ .name = "set_size", .type = COW_MSG_SET_SIZE,
	  .min_args = 3, .max_args = 3 },
	{ .name = "set_visibility", .type = COW_MSG_SET_VISIBILITY,
	  .min_args = 3, .max_args = 4 },
	{ .name = "set_received", .type = COW_MSG_SET_RECEIVED,
	  .min_args = 4, .max_args = 4 },
	{ .name = "volumes", .type = COW_MSG_VOLUMES,
	  .min_args = 1, .max_args = 1, .read_only = true },
	{ .name = "share", .type = COW_MSG_SHARE,
	  .min_args = 5, .max_args = 6 },
};

const struct cow_msg_desc *cow_parse_msg_lookup(unsigned int argc, char **argv,
						const char *pool_name)
{
	const struct cow_msg_desc *desc = NULL;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(messages); i++)
		if (!strcasecmp(argv[0], messages[i].name))
			desc = &messages[i];
	if (!desc) {
		cow_err("pool %s: unknown message '%s'", pool_name, argv[0]);
		return NULL;
	}
	if (argc < desc->min_args || (desc->max_args && argc > desc->max_args)) {
		cow_err("pool %s: wrong number of arguments for '%s'", pool_name,
			desc->name);
		return NULL;
	}
	return desc;
}

static int parse_id(const char *arg, u64 *id)
{
	unsigned long long v;

	if (kstrtoull(arg, 10, &v) || v > COW_MAX_VOLUME_ID) {
		cow_err("invalid volume id '%s': a number from 0 to %llu", arg,
			(unsigned long long)COW_MAX_VOLUME_ID);
		return -EINVAL;
	}
	*id = v;
	return 0;
}

static int check_name(const char *name)
{
	if (strnlen(name, COW_VOLUME_NAME_LEN) >= COW_VOLUME_NAME_LEN) {
		cow_err("volume name '%s' is longer than %u bytes", name,
			COW_VOLUME_NAME_LEN - 1);
		return -EINVAL;
	}
	return 0;
}

/* "visible", "hidden" or "throwaway" into COW_VOL_F_* flags. */
static int parse_visibility(const char *verb, const char *arg, u32 *flags)
{
	if (!strcmp(arg, "visible"))
		*flags = 0;
	else if (!strcmp(arg, "hidden"))
		*flags = COW_VOL_F_HIDDEN;
	else if (!strcmp(arg, "throwaway"))
		*flags = COW_VOL_F_HIDDEN | COW_VOL_F_THROWAWAY;
	else {
		cow_err("%s: '%s' is not one of visible, hidden, throwaway", verb, arg);
		return -EINVAL;
	}
	return 0;
}

/* "<verb> <id> <name>": the shape of create and set_name. */
static int parse_id_and_name(char **argv, struct cow_msg *msg)
{
	int r = parse_id(argv[1], &msg->id);

	msg->name = argv[2];
	return r ? r : check_name(argv[2]);
}

/*
 * snapshot <new id> <origin id> <name> [...] [hidden|throwaway]: an
 * optional last word makes every snapshot of the message hidden.
 */
static int parse_snapshot(unsigned int argc, char **argv, struct cow_msg *msg,
			  int (*check_origin)(void *context, u64 origin_id),
			  void *context)
{
	unsigned int i, nr = (argc - 1) / 3;
	struct cow_snapshot_request *reqs;
	u32 flags = 0;
	int r = 0;

	if ((argc - 1) % 3 == 1) {
		r = parse_visibility("snapshot", argv[argc - 1], &flags);
		if (r)
			return r;
	} else if ((argc - 1) % 3) {
		cow_err("snapshot: arguments come in triples <new id> <origin id> <name>");
		return -EINVAL;
	}
	if (!nr) {
		cow_err("snapshot: arguments come in triples <new id> <origin id> <name>");
		return -EINVAL;
	}
	reqs = kcalloc(nr, sizeof(*reqs), GFP_KERNEL);
	if (!reqs)
		return -ENOMEM;
	msg->snaps = reqs;
	msg->nr_snaps = nr;
	msg->flags = flags;
	for (i = 0; i < nr && !r; i++) {
		char **a = argv + 1 + 3 * i;

		r = parse_id(a[0], &reqs[i].new_id);
		if (!r)
			r = parse_id(a[1], &reqs[i].origin_id);
		if (!r)
			r = check_name(a[2]);
		reqs[i].name = a[2];
		reqs[i].flags = flags;
		if (!r && check_origin)
			r = check_origin(context, reqs[i].origin_id);
	}
	return r;
}

/* set_visibility <id> <visible|hidden|throwaway> [<new name>] */
static int parse_set_visibility(unsigned int argc, char **argv,
				struct cow_msg *msg)
{
	int r;

	r = parse_id(argv[1], &msg->id);
	if (!r)
		r = parse_visibility("set_visibility", argv[2], &msg->flags);
	if (!r && argc == 4) {
		msg->name = argv[3];
		r = check_name(argv[3]);
	}
	return r;
}

static int parse_two_numbers(char **argv, u64 *a, u64 *b)
{
	unsigned long long x, y;

	if (kstrtoull(argv[1], 10, &x) || kstrtoull(argv[2], 10, &y))
		return -EINVAL;
	*a = x;
	*b = y;
	return 0;
}

/*
 * share <dst id> <dst vchunk> <src id> <src vchunk> [<count>]: the pool
 * counts shared chunks by offset (a chunk is held by volumes of a family
 * at one vchunk), so both vchunks must be the same.
 */
static int parse_share(unsigned int argc, char **argv, struct cow_msg *msg)
{
	unsigned long long dst_vchunk, src_vchunk, count = 1;
	int r;

	r = parse_id(argv[1], &msg->id);
	if (!r)
		r = parse_id(argv[3], &msg->src_id);
	if (r)
		return r;
	if (kstrtoull(argv[2], 10, &dst_vchunk) ||
	    kstrtoull(argv[4], 10, &src_vchunk) ||
	    (argc == 6 && kstrtoull(argv[5], 10, &count))) {
		cow_err("share: chunk numbers and the count must be numbers");
		return -EINVAL;
	}
	if (msg->id == msg->src_id) {
		cow_err("share: volume %llu with itself", msg->id);
		return -EINVAL;
	}
	if (dst_vchunk != src_vchunk) {
		cow_err("share: chunks are shared only at the same offset (destination chunk %llu, source chunk %llu)",
			dst_vchunk, src_vchunk);
		return -EINVAL;
	}
	if (!count || count > COW_SHARE_MAX_CHUNKS ||
	    dst_vchunk + count < dst_vchunk) {
		cow_err("share: count %llu is not from 1 to %u", count,
			COW_SHARE_MAX_CHUNKS);
		return -EINVAL;
	}
	msg->vchunk = dst_vchunk;
	msg->count = count;
	return 0;
}

int cow_parse_msg_args(const struct cow_msg_desc *desc, unsigned int argc,
		       char **argv, struct cow_msg *msg,
		       int (*check_origin)(void *context, u64 origin_id),
		       void *context)
{
	unsigned long long sectors, from, mark;
	int r;

	memset(msg, 0, sizeof(*msg));
	msg->desc = desc;
	switch (desc->type) {
	case COW_MSG_CREATE:
		/* create <id> <name> [hidden|throwaway] */
		r = parse_id_and_name(argv, msg);
		if (!r && argc == 4)
			r = parse_visibility("create", argv[3], &msg->flags);
		return r;
	case COW_MSG_SET_NAME:
		return parse_id_and_name(argv, msg);
	case COW_MSG_SET_VISIBILITY:
		return parse_set_visibility(argc, argv, msg);
	case COW_MSG_SNAPSHOT:
		return parse_snapshot(argc, argv, msg, check_origin, context);
	case COW_MSG_DELETE:
		return parse_id(argv[1], &msg->id);
	case COW_MSG_ROLLBACK:
		r = parse_id(argv[1], &msg->id);
		return r ? r : parse_id(argv[2], &msg->snap_id);
	case COW_MSG_SET_TRANSACTION_ID:
		if (parse_two_numbers(argv, &msg->old_txn, &msg->new_txn)) {
			cow_err("set_transaction_id: ids must be numbers");
			return -EINVAL;
		}
		return 0;
	case COW_MSG_SET_SIZE:
		r = parse_id(argv[1], &msg->id);
		if (r)
			return r;
		if (kstrtoull(argv[2], 10, &sectors)) {
			cow_err("set_size: '%s' is not a number of sectors", argv[2]);
			return -EINVAL;
		}
		msg->sectors = sectors;
		return 0;
	case COW_MSG_SET_RECEIVED:
		/* set_received <id> <from> <mark>: dmcowctl receive's fields */
		r = parse_id(argv[1], &msg->id);
		if (r)
			return r;
		if (kstrtoull(argv[2], 0, &from) || kstrtoull(argv[3], 0, &mark)) {
			cow_err("set_received: '%s' and '%s' must be numbers",
				argv[2], argv[3]);
			return -EINVAL;
		}
		msg->received_from = from;
		msg->received_mark = mark;
		return 0;
	case COW_MSG_SHARE:
		return parse_share(argc, argv, msg);
	case COW_MSG_RESERVE_METADATA_SNAP:
	case COW_MSG_RELEASE_METADATA_SNAP:
	case COW_MSG_VOLUMES:
		return 0;
	}
	return -EINVAL;
}

void cow_msg_free(struct cow_msg *msg)
{
	kfree(msg->snaps);
	msg->snaps = NULL;
	msg->nr_snaps = 0;
}
