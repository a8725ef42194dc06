// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl check --live: the live counters compared with the recomputed
 * ones (see live-counters.h).  No libdevmapper, no core headers.
 */
#include "live-counters.h"

#include <stdio.h>
#include <string.h>

static const struct live_volume *find_volume(const struct live_volume *v, size_t nr,
					     uint64_t id)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (v[i].id == id)
			return &v[i];
	return NULL;
}

static bool sets_equal(const struct live_counter_set *a, const struct live_counter_set *b)
{
	return a->mapped == b->mapped && a->exclusive_known == b->exclusive_known &&
	       a->written_known == b->written_known &&
	       (!a->exclusive_known || a->exclusive == b->exclusive) &&
	       (!a->written_known || a->written == b->written);
}

static bool unmoved(const struct live_volume *a, const struct live_volume *b)
{
	return sets_equal(&a->pool, &b->pool) && a->status_read == b->status_read &&
	       !strcmp(a->dev, b->dev) &&
	       (!a->status_read || sets_equal(&a->status, &b->status));
}

/* Only the counters the pool maintains are compared. */
static bool matches(const struct live_counter_set *live,
		    const struct live_counter_set *recomputed)
{
	return live->mapped == recomputed->mapped &&
	       (!live->exclusive_known || live->exclusive == recomputed->exclusive) &&
	       (!live->written_known || live->written == recomputed->written);
}

static void describe(char *buf, size_t len, const char *who,
		     const struct live_counter_set *live,
		     const struct live_counter_set *recomputed)
{
	char excl[24] = "-", written[24] = "-";

	if (live->exclusive_known)
		snprintf(excl, sizeof(excl), "%llu", (unsigned long long)live->exclusive);
	if (live->written_known)
		snprintf(written, sizeof(written), "%llu", (unsigned long long)live->written);
	snprintf(buf, len, "%s mapped %llu exclusive %s written %s, the held mappings give %llu %llu %llu",
		 who, (unsigned long long)live->mapped, excl, written,
		 (unsigned long long)recomputed->mapped,
		 (unsigned long long)recomputed->exclusive,
		 (unsigned long long)recomputed->written);
}

unsigned int live_compare_counters(const uint64_t *ids,
				   const struct live_counter_set *recomputed,
				   size_t nr, const struct live_volume *before,
				   size_t nr_before, const struct live_volume *after,
				   size_t nr_after, bool held_by_us,
				   struct live_verdict *out)
{
	const struct live_volume *b, *a;
	unsigned int mismatches = 0;
	char who[160];
	size_t i;

	for (i = 0; i < nr; i++) {
		struct live_verdict *v = &out[i];

		memset(v, 0, sizeof(*v));
		v->id = ids[i];
		b = find_volume(before, nr_before, ids[i]);
		a = find_volume(after, nr_after, ids[i]);
		if (!held_by_us) {
			v->skipped = "the held root was reserved before this check, by another tool: its counters are older than the live ones";
			continue;
		}
		if (!b || !a) {
			v->skipped = "the volume was created or deleted during the check";
			continue;
		}
		if (!unmoved(b, a)) {
			v->skipped = "counters moved by I/O or reclaim during the check";
			continue;
		}
		v->compared = true;
		if (!matches(&a->pool, &recomputed[i])) {
			snprintf(who, sizeof(who), "volume %llu: the pool reports",
				 (unsigned long long)ids[i]);
			describe(v->mismatch, sizeof(v->mismatch), who, &a->pool,
				 &recomputed[i]);
			mismatches++;
			continue;
		}
		if (!a->status_read)
			continue;
		v->device_compared = true;
		if (!matches(&a->status, &recomputed[i])) {
			snprintf(who, sizeof(who), "volume %llu: the status of %s reports",
				 (unsigned long long)ids[i], a->dev);
			describe(v->mismatch, sizeof(v->mismatch), who, &a->status,
				 &recomputed[i]);
			mismatches++;
		}
	}
	return mismatches;
}
