// SPDX-License-Identifier: GPL-2.0-only
/*
 * apple_dma: the mapping cache (strict=0, the default).
 *
 * A LIVE record whose last user unmapped stays registered on the host,
 * idle, on ad->idle (oldest first); the next map inside it takes it back
 * without a doorbell. This trades isolation for round trips the way
 * Linux's lazy IOMMU mode (iommu.strict=0) does: until an idle record is
 * released, the device can still reach the pages it covered
 * (docs/security.md). Idle records go back to the host in batches, from a
 * delayed work, when they have been idle for cache_idle_ms, and the oldest
 * at once when the cache passes cache_max_mappings or cache_max_bytes
 * (defaults far below the platform's 65,536 mappings and 1.5 GiB). A map
 * that the host refuses empties the cache and is retried once
 * (apple_dma_map.c: the host answers IOERR without saying why; lack of
 * room is the usual reason while the cache holds anything). remove() and
 * a reset of apple-dma-pci empty it too.
 *
 * Everything but the work itself runs under ad->lock, in any context.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/sched.h>

#include "apple_dma.h"

static unsigned long idle_jiffies(void)
{
	return max(1UL, msecs_to_jiffies(READ_ONCE(apple_dma_cache_idle_ms)));
}

static bool over_budget(struct apple_dma *ad)
{
	return ad->stats.idle_mappings > READ_ONCE(apple_dma_cache_max_mappings) ||
	       ad->stats.idle_bytes > READ_ONCE(apple_dma_cache_max_bytes);
}

/* Take @rec off the idle list (lock held). */
static void unidle(struct apple_dma *ad, struct apple_dma_mapping *rec)
{
	list_del_init(&rec->lru);
	ad->stats.idle_mappings--;
	ad->stats.idle_bytes -= rec->size;
}

/* @rec (LIVE) lost its last user: keep it registered, idle (lock held). */
void apple_dma_cache_put(struct apple_dma *ad, struct apple_dma_mapping *rec)
{
	lockdep_assert_held(&ad->lock);

	rec->idle_since = jiffies;
	list_add_tail(&rec->lru, &ad->idle);
	ad->stats.idle_mappings++;
	ad->stats.idle_bytes += rec->size;

	/* queueing work is safe in any context, interrupts on or off */
	if (over_budget(ad)) {
		ad->reaper_armed = true;
		mod_delayed_work(system_wq, &ad->reaper, 0);
	} else if (!ad->reaper_armed) {
		ad->reaper_armed = true;
		queue_delayed_work(system_wq, &ad->reaper, idle_jiffies());
	}
}

/* A map reuses idle @rec (lock held; the caller takes the reference). */
void apple_dma_cache_take(struct apple_dma *ad, struct apple_dma_mapping *rec)
{
	lockdep_assert_held(&ad->lock);

	unidle(ad, rec);
	ad->stats.cache_hits++;
}

/*
 * Move up to @max idle records onto @q as UNMAPPING: all of them with
 * @all, else those idle for the bound and the oldest while over budget.
 */
static unsigned int evict(struct apple_dma *ad, struct list_head *q,
			  unsigned int max, bool all)
{
	unsigned long bound = idle_jiffies(), now = jiffies;
	struct apple_dma_mapping *rec, *tmp;
	unsigned int n = 0;

	lockdep_assert_held(&ad->lock);

	list_for_each_entry_safe(rec, tmp, &ad->idle, lru) {
		if (n == max)
			break;
		/* oldest first: the first one too young ends the scan */
		if (!all && !over_budget(ad) &&
		    time_before(now, rec->idle_since + bound))
			break;
		unidle(ad, rec);
		ad->stats.evictions++;
		apple_dma_rec_start_unmap(ad, rec, q);
		n++;
	}
	return n;
}

/* Every idle record onto @q (lock held); the caller unregisters them. */
unsigned int apple_dma_cache_evict_all(struct apple_dma *ad, struct list_head *q)
{
	return evict(ad, q, UINT_MAX, true);
}

/* Release every idle record now (any context, no lock held). */
void apple_dma_cache_flush(struct apple_dma *ad)
{
	unsigned long flags;
	LIST_HEAD(q);

	spin_lock_irqsave(&ad->lock, flags);
	apple_dma_cache_evict_all(ad, &q);
	spin_unlock_irqrestore(&ad->lock, flags);
	apple_dma_host_unmap(ad, &q);
}

/* Look at the idle list now (a new idle bound; any context). */
void apple_dma_cache_kick(struct apple_dma *ad)
{
	unsigned long flags;

	spin_lock_irqsave(&ad->lock, flags);
	ad->reaper_armed = true;
	mod_delayed_work(system_wq, &ad->reaper, 0);
	spin_unlock_irqrestore(&ad->lock, flags);
}

/* The delayed work: release what is due, a batch at a time; re-arm. */
static void apple_dma_reap(struct work_struct *work)
{
	struct apple_dma *ad = container_of(to_delayed_work(work),
					    struct apple_dma, reaper);
	struct apple_dma_mapping *oldest;
	unsigned long flags, due;
	unsigned int n;
	LIST_HEAD(q);

	do {
		spin_lock_irqsave(&ad->lock, flags);
		n = evict(ad, &q, ad->max_batch, false);
		if (!n) {
			oldest = list_first_entry_or_null(&ad->idle,
							  struct apple_dma_mapping,
							  lru);
			if (oldest) {
				due = oldest->idle_since + idle_jiffies();
				queue_delayed_work(system_wq, &ad->reaper,
						   time_after(due, jiffies) ?
						   due - jiffies : 0);
			} else {
				ad->reaper_armed = false;
			}
		}
		spin_unlock_irqrestore(&ad->lock, flags);
		if (n) {
			apple_dma_host_unmap(ad, &q);
			cond_resched();
		}
	} while (n);
}

void apple_dma_cache_init(struct apple_dma *ad)
{
	INIT_LIST_HEAD(&ad->idle);
	INIT_DELAYED_WORK(&ad->reaper, apple_dma_reap);
}

/* remove(): no op runs any more; stop the work, release the cache. */
void apple_dma_cache_stop(struct apple_dma *ad)
{
	cancel_delayed_work_sync(&ad->reaper);
	apple_dma_cache_flush(ad);
}
