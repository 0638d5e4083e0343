// SPDX-License-Identifier: GPL-2.0-only
/*
 * apple_dma: the wire protocol - command page, request and response
 * arrays, the doorbell - and who may use them.
 *
 * A doorbell is a vfio-user round trip (QEMU -> server -> dext): an MMIO
 * write, then a read of STATUS, or of the command page's status when the
 * device promises synchronous doorbells (FEATURES, ad->sync_doorbell). The
 * arrays and the command page belong to whoever holds ad->db_lock, for
 * one batch: fill, ring, read the answers. db_lock is taken only with
 * interrupts off and only by trylock. Hence:
 *  - interrupts are off for one batch (one round trip, two if the host
 *    hands out answers that must be dropped again), however long the
 *    caller's list; the record bookkeeping (ad->lock) is not held over the
 *    round trip, so cache hits and unmaps on other CPUs go on meanwhile;
 *  - a CPU that finds db_lock busy waits with interrupts as its caller
 *    had them: it does not sit with interrupts off behind another CPU's
 *    round trip;
 *  - the holder cannot be interrupted, so an interrupt handler never waits
 *    for a round trip its own CPU has started (no self-deadlock).
 * While the vCPU is inside the MMIO exit it takes no interrupt anyway, so
 * keeping them off for that span costs nothing extra. The span itself is
 * bounded by the device: the server answers each request within its budget
 * (3 s by default, vfio-apple-server --request-budget) or declares its
 * platform lost; one hold is one doorbell, or two when an answer must be
 * dropped again. The longest hold is in the stats (max_irqs_off_us).
 *
 * Lock order: db_lock, then ad->lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/io.h>
#include <linux/irqflags.h>
#include <linux/math64.h>
#include <linux/overflow.h>
#include <linux/sched/clock.h>

#include "apple_dma.h"

/*
 * Interrupts off, db_lock held, *@since the time they went off. Returns
 * whether someone else had it.
 */
static bool db_acquire(struct apple_dma *ad, unsigned long *flags, u64 *since)
{
	bool waited = false;

	for (;;) {
		local_irq_save(*flags);
		if (spin_trylock(&ad->db_lock)) {
			/* Interrupts are off: this CPU's clock, no clocksource read. */
			*since = local_clock();
			return waited;
		}
		local_irq_restore(*flags);
		waited = true;
		while (spin_is_locked(&ad->db_lock))
			cpu_relax();
	}
}

static void db_release(struct apple_dma *ad, unsigned long flags, u64 since)
{
	u64 us = div_u64(local_clock() - since, NSEC_PER_USEC);

	/* Written under db_lock only; read locklessly by the stats snapshot. */
	if (us > ad->max_irqs_off_us)
		WRITE_ONCE(ad->max_irqs_off_us, us);
	spin_unlock(&ad->db_lock);
	local_irq_restore(flags);
}

/* ad->lock held */
static void count_doorbell(struct apple_dma *ad, u32 count, bool waited)
{
	struct apple_dma_stats *s = &ad->stats;

	s->doorbells++;
	if (!ad->sync_doorbell)
		s->status_reads++;
	s->entries += count;
	s->max_entries_per_doorbell = max_t(u64, s->max_entries_per_doorbell,
					    count);
	if (waited)
		s->doorbell_waits++;
}

/*
 * Process one batch of @count entries already in the request array
 * (db_lock held). Returns 0 when the responses are to be parsed (OK or
 * IOERR: each entry says), -EINVAL when the device refused the command as
 * a whole (it then writes no response).
 */
static int doorbell(struct apple_dma *ad, u32 type, u32 count)
{
	struct apple_dma_cmd *cmd = ad->cmd;
	u32 status;

	lockdep_assert_held(&ad->db_lock);

	cmd->type = cpu_to_le32(type);
	cmd->count = cpu_to_le32(count);
	cmd->status = cpu_to_le32(U32_MAX);
	cmd->reserved = 0;
	cmd->req_gpa = cpu_to_le64(ad->req_gpa);
	cmd->resp_gpa = cpu_to_le64(ad->resp_gpa);

	/* The device reads the command page and arrays on the doorbell. */
	wmb();
	writel(1, ad->regs + APPLE_DMA_REG_DOORBELL);
	if (ad->sync_doorbell) {
		/*
		 * The write completed after the batch (FEATURES): the status is
		 * in the command page. The barrier keeps the loads after it.
		 */
		mb();
		status = le32_to_cpu(READ_ONCE(cmd->status));
	} else {
		/*
		 * The doorbell write may be posted (vfio-user); this read
		 * cannot complete before the batch has been processed.
		 */
		status = readl(ad->regs + APPLE_DMA_REG_STATUS);
	}
	/* Responses are read only after the status. */
	rmb();

	switch (status) {
	case APPLE_DMA_STATUS_OK:
	case APPLE_DMA_STATUS_IOERR:
		return 0;
	case APPLE_DMA_STATUS_INVAL:
		dev_warn_ratelimited(&ad->pdev->dev,
				     "device rejected %s batch of %u entries\n",
				     type == APPLE_DMA_CMD_MAP ? "map" : "unmap",
				     count);
		return -EINVAL;
	default:
		/* Unwritten responses keep their failure sentinel. */
		dev_warn_ratelimited(&ad->pdev->dev,
				     "unexpected batch status %#x\n", status);
		return 0;
	}
}

/* UNMAP the first @n entries of the request array (db_lock held). */
static int ring_unmap(struct apple_dma *ad, u32 n)
{
	struct apple_dma_unmap_resp *resp = ad->resp;
	u32 i;

	for (i = 0; i < n; i++) {
		resp[i].id = 0;
		resp[i].status = cpu_to_le32(U32_MAX);
		resp[i].reserved = 0;
	}
	return doorbell(ad, APPLE_DMA_CMD_UNMAP, n);
}

/* Count and report the answers of ring_unmap() (both locks held). */
static void check_unmaps(struct apple_dma *ad, u32 n, int ret)
{
	struct apple_dma_unmap_req *req = ad->req;
	struct apple_dma_unmap_resp *resp = ad->resp;
	u32 i;

	for (i = 0; i < n; i++) {
		if (!ret && le32_to_cpu(resp[i].status) == APPLE_DMA_STATUS_OK &&
		    resp[i].id == req[i].id) {
			ad->stats.host_unmaps++;
			continue;
		}
		ad->stats.host_unmap_errors++;
		dev_warn_ratelimited(&ad->pdev->dev,
				     "host unmap of %#llx failed (status %u)\n",
				     le64_to_cpu(req[i].id),
				     le32_to_cpu(resp[i].status));
	}
}

/**
 * apple_dma_host_unmap() - unregister and free the UNMAPPING records on @q
 * @ad: instance (neither lock held)
 * @q: records the caller took out with apple_dma_rec_start_unmap()
 *
 * max_batch entries per doorbell; returns with @q empty.
 */
void apple_dma_host_unmap(struct apple_dma *ad, struct list_head *q)
{
	struct apple_dma_unmap_req *req = ad->req;
	struct apple_dma_mapping *rec, *tmp;
	unsigned long flags;
	bool waited;
	u64 since;
	u32 n, i;
	int ret;

	while (!list_empty(q)) {
		waited = db_acquire(ad, &flags, &since);
		n = 0;
		list_for_each_entry_safe(rec, tmp, q, list) {
			if (n == ad->max_batch)
				break;
			list_del(&rec->list);
			req[n].id = cpu_to_le64(rec->base);
			req[n].size = cpu_to_le64(rec->size);
			ad->batch[n++] = rec;
		}
		ret = ring_unmap(ad, n);

		spin_lock(&ad->lock);
		count_doorbell(ad, n, waited);
		check_unmaps(ad, n, ret);
		for (i = 0; i < n; i++)
			apple_dma_rec_retire(ad, ad->batch[i]);
		spin_unlock(&ad->lock);
		db_release(ad, flags, since);
	}
}

/*
 * Check one MAP response (both locks held). On success the record becomes
 * LIVE. When the host reports success but the answer is unusable,
 * *@leaked tells the caller the host holds a registration to drop.
 */
static bool accept_map_resp(struct apple_dma *ad, struct apple_dma_mapping *rec,
			    const struct apple_dma_map_resp *resp, bool *leaked)
{
	u64 id = le64_to_cpu(resp->id);
	u64 bus = le64_to_cpu(resp->dma_addr);
	u32 dma_len = le32_to_cpu(resp->dma_len);
	u64 last;

	*leaked = false;
	if (le32_to_cpu(resp->status) != APPLE_DMA_STATUS_OK) {
		dev_dbg_ratelimited(&ad->pdev->dev,
				    "host map %#llx+%#llx failed (status %u)\n",
				    rec->base, rec->size,
				    le32_to_cpu(resp->status));
		return false;
	}

	*leaked = true;
	if (id != rec->base || dma_len < rec->size ||
	    check_add_overflow(bus, rec->size - 1, &last) ||
	    (dma_addr_t)last != last) {
		dev_warn_ratelimited(&ad->pdev->dev,
				     "bad host answer for %#llx+%#llx: id %#llx bus %#llx len %#x\n",
				     rec->base, rec->size, id, bus, dma_len);
		return false;
	}
	if (!apple_dma_rec_make_live(ad, rec, bus)) {
		dev_warn_ratelimited(&ad->pdev->dev,
				     "host bus range %#llx+%#llx overlaps a live mapping\n",
				     bus, rec->size);
		return false;
	}
	*leaked = false;
	return true;
}

/**
 * apple_dma_host_map() - register the PENDING records on @pending
 * @ad: instance (neither lock held)
 * @pending: records created by one mapping call
 *
 * max_batch entries per doorbell; each record ends LIVE or DEAD, and
 * @pending empty. An answer that reports success but cannot be used is
 * unregistered again in the same hold of db_lock.
 */
void apple_dma_host_map(struct apple_dma *ad, struct list_head *pending)
{
	struct apple_dma_map_req *req = ad->req;
	struct apple_dma_map_resp *resp = ad->resp;
	struct apple_dma_unmap_req *ureq = ad->req;
	struct apple_dma_mapping *rec, *tmp;
	unsigned long flags;
	u32 i, n, nbad;
	bool leaked, waited;
	u64 since;
	int ret;

	BUILD_BUG_ON(sizeof(*req) != sizeof(*ureq));

	while (!list_empty(pending)) {
		waited = db_acquire(ad, &flags, &since);
		n = 0;
		list_for_each_entry_safe(rec, tmp, pending, list) {
			if (n == ad->max_batch)
				break;
			list_del_init(&rec->list);
			req[n].gpa = cpu_to_le64(rec->base);
			req[n].len = cpu_to_le32(rec->size);
			req[n].flags = 0;
			memset(&resp[n], 0, sizeof(resp[n]));
			resp[n].status = cpu_to_le32(U32_MAX);
			ad->batch[n++] = rec;
		}
		ret = doorbell(ad, APPLE_DMA_CMD_MAP, n);

		/*
		 * Requests have been consumed; unusable-but-registered
		 * entries are collected as UNMAP requests in the same array
		 * (index nbad <= i, same entry size).
		 */
		spin_lock(&ad->lock);
		count_doorbell(ad, n, waited);
		nbad = 0;
		for (i = 0; i < n; i++) {
			rec = ad->batch[i];
			if (!ret && accept_map_resp(ad, rec, &resp[i], &leaked))
				continue;
			apple_dma_rec_make_dead(ad, rec);
			if (!ret && leaked) {
				ureq[nbad].id = cpu_to_le64(rec->base);
				ureq[nbad].size = cpu_to_le64(rec->size);
				nbad++;
			}
		}
		spin_unlock(&ad->lock);

		if (nbad) {
			ret = ring_unmap(ad, nbad);
			spin_lock(&ad->lock);
			count_doorbell(ad, nbad, false);
			check_unmaps(ad, nbad, ret);
			spin_unlock(&ad->lock);
		}
		db_release(ad, flags, since);
	}
}
