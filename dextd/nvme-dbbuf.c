// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nvme: Doorbell Buffer Config (NVMe 1.4, 5.8): shadow doorbells and
 * EventIdx for the I/O queues. The host keeps each queue's tail (SQ) or
 * head (CQ) in the shadow buffer and rings the MMIO doorbell only when the
 * new value passes the queue's EventIdx. The controller sets EventIdx to
 * what it has seen just before it would sleep and then looks at the shadow
 * buffer once more: either it sees the host's new value, or the host sees
 * the EventIdx and rings. Both buffers are host memory reached through the
 * DART like any other.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/log.h"
#include "nvme.h"

/* Word i (SQ tail of queue q at 2q, CQ head at 2q + 1) with CAP.DSTRD = 0. */
#define DB_WORDS(ioqs)	(2 * ((ioqs) + 1))

/*
 * The EventIdx words. SQ: the tail the controller has seen, so the host
 * rings once it has caught up. CQ: left where it was (the host then rings
 * for a head move about once per trip round the queue) unless the CQ is
 * full and stalls its SQs: then the head seen, so that freeing it rings.
 * fn->lock held.
 */
static void event_idx(struct nvme_ctrl *n, uint32_t *ei)
{
	memset(ei, 0, sizeof(uint32_t) * DB_WORDS(n->ioqs));
	for (unsigned int q = 1; q <= n->ioqs; q++) {
		const struct nvme_cq *cq = &n->cq[q];

		if (cq->valid && (cq->tail + 1) % cq->size == cq->head)
			n->cq_ei[q] = cq->head;
		ei[2 * q] = n->sq[q].valid ? n->sq[q].tail : 0;
		ei[2 * q + 1] = n->cq_ei[q];
	}
}

void nvme_dbbuf_config(struct nvme_ctrl *n, const struct nvme_sqe *cmd, uint64_t gen,
		       struct nvme_result *res)
{
	uint32_t ei[DB_WORDS(NVME_QUEUES_MAX)], db[DB_WORDS(NVME_QUEUES_MAX)];
	uint64_t dbs = cmd->prp1, eis = cmd->prp2;
	size_t len = sizeof(uint32_t) * DB_WORDS(n->ioqs);
	int r;

	/* Page aligned and distinct (5.8); the admin queue's words are never used. */
	if (!dbs || !eis || ((dbs | eis) & (NVME_PAGE_SIZE - 1)) || dbs == eis) {
		res->status = NVME_ERR(NVME_SC_INVALID_FIELD);
		return;
	}
	pthread_mutex_lock(&n->fn->lock);
	if (n->generation != gen) {
		pthread_mutex_unlock(&n->fn->lock);
		res->no_cqe = true;
		return;
	}
	for (unsigned int q = 1; q <= n->ioqs; q++)
		n->cq_ei[q] = n->cq[q].valid ? n->cq[q].head : 0;
	event_idx(n, ei);
	pthread_mutex_unlock(&n->fn->lock);
	/* Both buffers must be reachable now: a bad address fails the command, not later I/O. */
	r = fn_dma_write(n->fn, eis, ei, len, NULL);
	if (r == 0)
		r = fn_dma_read(n->fn, dbs, db, len, NULL);
	if (r < 0) {
		NVME_LOG(n, LOG_LVL_DEBUG, "doorbell buffers at IOVA 0x%llx/0x%llx unreachable: %s",
			 (unsigned long long)dbs, (unsigned long long)eis, strerror(-r));
		res->status = NVME_ERR(NVME_SC_DATA_XFER_ERROR);
		return;
	}
	pthread_mutex_lock(&n->fn->lock);
	if (n->generation != gen) {
		res->no_cqe = true;
	} else {
		n->dbbuf = true;
		n->dbs = dbs;
		n->eis = eis;
	}
	pthread_mutex_unlock(&n->fn->lock);
}

/*
 * Called by a worker with fn->lock held when it has nothing to do, one
 * worker at a time (n->refreshing): publishes EventIdx, then takes new SQ
 * tails and CQ heads from the shadow buffer. Returns true if anything moved
 * (or the controller changed under it), so the worker looks again before
 * sleeping. Drops the lock for DMA.
 */
bool nvme_dbbuf_refresh(struct nvme_ctrl *n)
{
	uint32_t ei[DB_WORDS(NVME_QUEUES_MAX)], db[DB_WORDS(NVME_QUEUES_MAX)];
	uint32_t seen[DB_WORDS(NVME_QUEUES_MAX)];
	size_t len = sizeof(uint32_t) * DB_WORDS(n->ioqs);
	uint64_t gen = n->generation, dbs = n->dbs, eis = n->eis;
	bool moved = false;
	int r;

	/* A doorbell from now on may have missed this look: it keeps the flag. */
	n->db_kick = false;
	event_idx(n, ei);
	for (unsigned int q = 1; q <= n->ioqs; q++) {
		seen[2 * q] = n->sq[q].tail;
		seen[2 * q + 1] = n->cq[q].head;
	}
	pthread_mutex_unlock(&n->fn->lock);
	r = fn_dma_write(n->fn, eis, ei, len, NULL);
	/* EventIdx out before the shadow is read: the host does the reverse. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (r == 0)
		r = fn_dma_read(n->fn, dbs, db, len, NULL);
	pthread_mutex_lock(&n->fn->lock);
	if (n->generation != gen || !n->dbbuf)
		return true;
	if (r < 0) {
		nvme_fatal(n, r == -EFAULT ? "doorbell buffer access faulted"
					   : "doorbell buffer access failed", r == -EFAULT ? eis : dbs);
		return true;
	}
	/*
	 * A value read from the shadow applies only if no MMIO doorbell moved
	 * the queue meanwhile: that one may be newer than what was read, and a
	 * tail taken back would make the worker run stale entries. Such a queue
	 * is looked at again instead.
	 */
	for (unsigned int q = 1; q <= n->ioqs; q++) {
		if (n->sq[q].valid && db[2 * q] != n->sq[q].tail) {
			if (n->sq[q].tail == seen[2 * q])
				moved |= nvme_set_sq_tail(n, q, db[2 * q]);
			else
				moved = true;
		}
		if (n->cq[q].valid && db[2 * q + 1] != n->cq[q].head) {
			if (n->cq[q].head == seen[2 * q + 1])
				moved |= nvme_set_cq_head(n, q, db[2 * q + 1]);
			else
				moved = true;
		}
	}
	return moved;
}
