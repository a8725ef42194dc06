// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree: a deferred set of in-flight I/O, in epochs (after dm-thin's
 * dm_deferred_set, whose API the installed headers do not export).
 *
 * I/O enters the current epoch and leaves it when it completes; closing the
 * current epoch starts a new one.  An epoch has passed when no I/O of it or
 * of any earlier epoch is still in flight.  Epoch numbers only grow; a ring
 * of COW_DS_EPOCHS counters holds the epochs that may still have I/O.  When
 * the ring is full, closing does not advance: later I/O joins the last
 * epoch, which then passes when all of it completed (later, never earlier).
 */
#include "dm-cowtree.h"

static unsigned int *slot(struct cow_deferred_set *ds, u64 epoch)
{
	return &ds->count[epoch % COW_DS_EPOCHS];
}

void cow_ds_init(struct cow_deferred_set *ds)
{
	spin_lock_init(&ds->lock);
	/* Epoch 0 is closed and empty: it has passed. */
	ds->current_epoch = 1;
	ds->sweeper = 1;
	ds->wait_for = 0;
	ds->waiting = false;
	memset(ds->count, 0, sizeof(ds->count));
}

u64 cow_ds_enter(struct cow_deferred_set *ds)
{
	unsigned long flags;
	u64 epoch;

	spin_lock_irqsave(&ds->lock, flags);
	epoch = ds->current_epoch;
	(*slot(ds, epoch))++;
	spin_unlock_irqrestore(&ds->lock, flags);
	return epoch;
}

/* Called with ds->lock held. */
static void sweep(struct cow_deferred_set *ds)
{
	while (ds->sweeper < ds->current_epoch && !*slot(ds, ds->sweeper))
		ds->sweeper++;
}

/* Called with ds->lock held. */
static bool passed(struct cow_deferred_set *ds, u64 epoch)
{
	if (ds->sweeper > epoch)
		return true;
	/* Not closed (the ring was full): passes once it is empty. */
	return epoch == ds->current_epoch && ds->sweeper == epoch &&
	       !*slot(ds, epoch);
}

bool cow_ds_exit(struct cow_deferred_set *ds, u64 epoch)
{
	unsigned long flags;
	bool wake = false;

	spin_lock_irqsave(&ds->lock, flags);
	WARN_ON_ONCE(!*slot(ds, epoch));
	(*slot(ds, epoch))--;
	sweep(ds);
	if (ds->waiting && passed(ds, ds->wait_for)) {
		ds->waiting = false;
		wake = true;
	}
	spin_unlock_irqrestore(&ds->lock, flags);
	return wake;
}

u64 cow_ds_close(struct cow_deferred_set *ds)
{
	unsigned long flags;
	u64 epoch;

	spin_lock_irqsave(&ds->lock, flags);
	epoch = ds->current_epoch;
	if (epoch + 1 - ds->sweeper < COW_DS_EPOCHS)
		ds->current_epoch++;
	sweep(ds);
	spin_unlock_irqrestore(&ds->lock, flags);
	return epoch;
}

bool cow_ds_passed(struct cow_deferred_set *ds, u64 epoch, bool wait)
{
	unsigned long flags;
	bool r;

	spin_lock_irqsave(&ds->lock, flags);
	r = passed(ds, epoch);
	if (!r && wait) {
		if (!ds->waiting || epoch > ds->wait_for)
			ds->wait_for = epoch;
		ds->waiting = true;
	}
	spin_unlock_irqrestore(&ds->lock, flags);
	return r;
}
