// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: the pool target's messages, parsed by the code the module
 * runs (drivers/md/dm-cowtree/parse/cow-parse.c).
 *
 * Input: a message as given to "dmsetup message <pool> 0 <message>",
 * split as device-mapper's core splits it (fuzz-dm.c; an empty message
 * never reaches a target).  The snapshot origin check refuses origin 1
 * as the pool refuses an active origin.  A message refused with -EINVAL
 * must have logged why (a DMERR line); an accepted one must hold only
 * what the pool may act on.
 */
#include "fuzz-common.h"
#include "fuzz-dm.h"
#include "cow-parse.h"

#define BUSY_ORIGIN 1u

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static int check_origin(void *context, u64 origin_id)
{
	unsigned int *checked = context;

	(*checked)++;
	return origin_id == BUSY_ORIGIN ? -EBUSY : 0;
}

static bool good_name(const char *name, char **argv, unsigned int argc)
{
	unsigned int i;

	for (i = 0; i < argc; i++)
		if (name == argv[i])
			return strlen(name) < COW_VOLUME_NAME_LEN;
	return false;
}

static bool good_flags(u32 flags)
{
	return flags == 0 || flags == COW_VOL_F_HIDDEN ||
	       flags == (COW_VOL_F_HIDDEN | COW_VOL_F_THROWAWAY);
}

static void check_parsed(const struct cow_msg *msg, unsigned int argc, char **argv,
			 unsigned int checked)
{
	unsigned int i;

	switch (msg->desc->type) {
	case COW_MSG_CREATE:
	case COW_MSG_SET_NAME:
		FUZZ_ASSERT(msg->id <= COW_MAX_VOLUME_ID && good_name(msg->name, argv, argc) &&
			    good_flags(msg->flags),
			    "%s accepted with id %llu, flags %u", msg->desc->name,
			    (unsigned long long)msg->id, msg->flags);
		break;
	case COW_MSG_SET_VISIBILITY:
		FUZZ_ASSERT(msg->id <= COW_MAX_VOLUME_ID && good_flags(msg->flags) &&
			    (argc == 3 ? !msg->name : good_name(msg->name, argv, argc)),
			    "set_visibility accepted with id %llu, flags %u",
			    (unsigned long long)msg->id, msg->flags);
		break;
	case COW_MSG_SNAPSHOT:
		/* Triples, and perhaps a visibility word. */
		FUZZ_ASSERT(msg->nr_snaps && checked == msg->nr_snaps &&
			    (3 * msg->nr_snaps + 1 == argc || 3 * msg->nr_snaps + 2 == argc),
			    "snapshot accepted %u requests of %u arguments (%u origins checked)",
			    msg->nr_snaps, argc, checked);
		for (i = 0; i < msg->nr_snaps; i++)
			FUZZ_ASSERT(msg->snaps[i].new_id <= COW_MAX_VOLUME_ID &&
				    msg->snaps[i].origin_id <= COW_MAX_VOLUME_ID &&
				    msg->snaps[i].origin_id != BUSY_ORIGIN &&
				    msg->snaps[i].flags == msg->flags &&
				    good_flags(msg->snaps[i].flags) &&
				    good_name(msg->snaps[i].name, argv, argc),
				    "snapshot request %u accepted with bad ids, name or flags", i);
		break;
	case COW_MSG_DELETE:
	case COW_MSG_SET_SIZE:
		FUZZ_ASSERT(msg->id <= COW_MAX_VOLUME_ID, "%s accepted with id %llu",
			    msg->desc->name, (unsigned long long)msg->id);
		break;
	case COW_MSG_ROLLBACK:
		FUZZ_ASSERT(msg->id <= COW_MAX_VOLUME_ID && msg->snap_id <= COW_MAX_VOLUME_ID,
			    "rollback accepted with ids %llu %llu",
			    (unsigned long long)msg->id, (unsigned long long)msg->snap_id);
		break;
	case COW_MSG_SHARE:
		/* Two volumes, one offset, a count the kernel can hold cells for. */
		FUZZ_ASSERT(msg->id <= COW_MAX_VOLUME_ID && msg->src_id <= COW_MAX_VOLUME_ID &&
			    msg->id != msg->src_id && msg->count >= 1 &&
			    msg->count <= COW_SHARE_MAX_CHUNKS &&
			    msg->vchunk + msg->count > msg->vchunk,
			    "share accepted with ids %llu %llu, chunk %llu, count %llu",
			    (unsigned long long)msg->id, (unsigned long long)msg->src_id,
			    (unsigned long long)msg->vchunk, (unsigned long long)msg->count);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_string(data, size), **argv;
	const struct cow_msg_desc *desc;
	unsigned long before;
	unsigned int argc, checked = 0;
	struct cow_msg msg;
	int r;

	if (!line)
		return 0;
	argv = fuzz_split_args(line, &argc);
	if (!argv || !argc)
		goto out;
	before = cow_log_errors;
	desc = cow_parse_msg_lookup(argc, argv, "253:0");
	if (!desc) {
		FUZZ_ASSERT(cow_log_errors > before, "message '%s' refused silently", argv[0]);
		goto out;
	}
	FUZZ_ASSERT(argc >= desc->min_args && (!desc->max_args || argc <= desc->max_args),
		    "'%s' accepted with %u arguments", desc->name, argc);
	before = cow_log_errors;
	r = cow_parse_msg_args(desc, argc, argv, &msg, check_origin, &checked);
	if (r == -EINVAL)
		FUZZ_ASSERT(cow_log_errors > before, "'%s' refused silently", desc->name);
	else if (!r)
		check_parsed(&msg, argc, argv, checked);
	else
		FUZZ_ASSERT(r == -EBUSY || r == -ENOMEM, "'%s' failed with %d",
			    desc->name, r);
	cow_msg_free(&msg);
out:
	free(argv);
	free(line);
	return 0;
}
