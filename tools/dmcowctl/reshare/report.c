// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl reshare: the totals, as text or as one JSON object.  Every chunk
 * of the delta mapped on both sides ends in exactly one of shared,
 * different, busy and skipped.
 */
#include "dmcowctl.h"
#include "reshare/reshare.h"

#include <inttypes.h>
#include <stdio.h>

#include <json-c/json.h>

static void add_u64(json_object *j, const char *key, uint64_t v)
{
	json_object_object_add(j, key, json_object_new_int64((int64_t)v));
}

static void report_json(const char *pool, const struct reshare_plan *p,
			const struct reshare_totals *t, bool dry_run)
{
	uint64_t chunk_bytes = p->chunk_sectors * 512ULL;
	json_object *j = json_object_new_object();

	json_object_object_add(j, "pool", json_object_new_string(pool));
	json_object_object_add(j, "a", json_object_new_string(p->vol[0].name));
	json_object_object_add(j, "b", json_object_new_string(p->vol[1].name));
	add_u64(j, "a_id", p->vol[0].id);
	add_u64(j, "b_id", p->vol[1].id);
	add_u64(j, "chunk_sectors", p->chunk_sectors);
	json_object_object_add(j, "dry_run", json_object_new_boolean(dry_run));
	add_u64(j, "delta_chunks", t->delta_chunks);
	add_u64(j, "candidate_chunks", t->candidates);
	add_u64(j, "compared_chunks", t->compared);
	add_u64(j, "bytes_read", t->bytes_read);
	add_u64(j, "shared_chunks", t->shared);
	add_u64(j, "shared_bytes", t->shared * chunk_bytes);
	add_u64(j, "shared_into_a", t->into[0]);
	add_u64(j, "shared_into_b", t->into[1]);
	add_u64(j, "different_chunks", t->different);
	add_u64(j, "busy_chunks", t->busy);
	add_u64(j, "busy_asked_again", t->busy_asked_again);
	add_u64(j, "skipped_chunks", t->skipped);
	add_u64(j, "messages", t->messages);
	add_u64(j, "pool_compared_chunks", t->pool_compared);
	printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_SPACED));
	json_object_put(j);
}

static void report_text(const char *pool, const struct reshare_plan *p,
			const struct reshare_totals *t, bool dry_run)
{
	uint64_t chunk_bytes = p->chunk_sectors * 512ULL;
	char h[2][16];

	printf("# reshare of %s/%s (A) and %s/%s (B), chunks of %u sectors%s\n",
	       pool, p->vol[0].name, pool, p->vol[1].name, p->chunk_sectors,
	       dry_run ? ": dry run, nothing changed" : "");
	printf("delta:       %" PRIu64 " chunks, %" PRIu64 " mapped in both\n",
	       t->delta_chunks, t->candidates);
	printf("compared:    %" PRIu64 " chunks, %s read\n", t->compared,
	       human_size(t->bytes_read, h[0], sizeof(h[0])));
	printf("%-12s %" PRIu64 " chunks, %s (%" PRIu64 " into A, %" PRIu64 " into B)\n",
	       dry_run ? "would share:" : "shared:", t->shared,
	       human_size(t->shared * chunk_bytes, h[1], sizeof(h[1])),
	       t->into[0], t->into[1]);
	printf("different:   %" PRIu64 " chunks\n", t->different);
	printf("busy:        %" PRIu64 " chunks (%" PRIu64 " asks again after a pause)\n",
	       t->busy, t->busy_asked_again);
	printf("skipped:     %" PRIu64 " chunks\n", t->skipped);
}

void reshare_report(const char *pool, const struct reshare_plan *p,
		    const struct reshare_totals *t, bool dry_run, bool json)
{
	if (json)
		report_json(pool, p, t, dry_run);
	else
		report_text(pool, p, t, dry_run);
}
