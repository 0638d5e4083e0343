// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nvme: the worker thread: picks a submission queue round-robin, fetches
 * a command, runs it and posts its completion.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/log.h"
#include "nvme.h"

/* ---- the worker ---- */

static bool nvme_cq_full(const struct nvme_cq *cq)
{
	return (cq->tail + 1) % cq->size == cq->head;
}

/* The next SQ with a command to run and room in its CQ, round-robin. fn->lock held. */
int nvme_next_sq(struct nvme_ctrl *n)
{
	unsigned int nq = n->ioqs + 1;

	if (!(n->csts & NVME_CSTS_RDY) || n->fatal)
		return -1;
	for (unsigned int i = 1; i <= nq; i++) {
		unsigned int q = (n->rr + i) % nq;
		const struct nvme_sq *sq = &n->sq[q];

		if (sq->valid && sq->head != sq->tail && !nvme_cq_full(&n->cq[sq->cqid])) {
			n->rr = q;
			return (int)q;
		}
	}
	return -1;
}

/* Fetches, runs and completes one command of SQ qid. Entered and left with fn->lock held. */
void nvme_process(struct nvme_ctrl *n, unsigned int qid)
{
	struct dext_function *fn = n->fn;
	struct nvme_sq *sq = &n->sq[qid];
	struct nvme_cq *cq = &n->cq[sq->cqid];
	uint64_t gen = n->generation;
	uint64_t addr = sq->base + (uint64_t)sq->head * sizeof(struct nvme_sqe);
	struct nvme_result res = { 0 };
	struct nvme_sqe cmd;
	struct nvme_cqe cqe;
	uint16_t sq_head;
	bool wce = n->feat.wce;
	int r;

	pthread_mutex_unlock(&fn->lock);
	r = fn_dma_read(fn, addr, &cmd, sizeof(cmd), NULL);
	pthread_mutex_lock(&fn->lock);
	if (gen != n->generation)
		return;
	if (r < 0) {
		nvme_fatal(n, r == -EFAULT ? "SQ entry fetch faulted" : "SQ entry fetch failed",
			   addr);
		return;
	}
	sq->head = (sq->head + 1) % sq->size;
	sq_head = (uint16_t)sq->head;
	pthread_mutex_unlock(&fn->lock);

	if (qid == 0)
		nvme_admin(n, &cmd, gen, &res);
	else
		nvme_io(n, &cmd, wce, &res);

	pthread_mutex_lock(&fn->lock);
	if (gen != n->generation || res.no_cqe)
		return;
	/* Only this thread posts, and it checked for room before the fetch. */
	addr = cq->base + (uint64_t)cq->tail * sizeof(struct nvme_cqe);
	cqe = (struct nvme_cqe){
		.dw0 = res.dw0,
		.sq_head = sq_head,
		.sq_id = (uint16_t)qid,
		.cid = cmd.cid,
		.status = (uint16_t)(res.status << 1 | cq->phase),
	};
	if (res.status)
		NVME_LOG(n, LOG_LVL_DEBUG, "SQ%u cid %u opcode 0x%02x: status 0x%03x", qid,
			 cmd.cid, cmd.opcode, NVME_STATUS_CODE(res.status));
	pthread_mutex_unlock(&fn->lock);
	r = fn_dma_write(fn, addr, &cqe, sizeof(cqe), NULL);
	pthread_mutex_lock(&fn->lock);
	if (gen != n->generation)
		return;
	if (r < 0) {
		nvme_fatal(n, r == -EFAULT ? "CQ entry post faulted" : "CQ entry post failed",
			   addr);
		return;
	}
	if (++cq->tail == cq->size) {
		cq->tail = 0;
		cq->phase ^= 1;
	}
	if (cq->ien)
		fn_raise_irq(fn, cq->vector);
}

void *nvme_worker(void *arg)
{
	struct nvme_ctrl *n = arg;
	struct dext_function *fn = n->fn;

	pthread_mutex_lock(&fn->lock);
	for (;;) {
		bool looked = false;
		int q = -1;

		while (!n->stop && !n->shutdown_pending && (q = nvme_next_sq(n)) < 0) {
			/* Shadow doorbells: one look (after EventIdx) before sleeping. */
			if (n->dbbuf && !n->fatal && (n->csts & NVME_CSTS_RDY) &&
			    (!looked || n->db_kick)) {
				looked = !nvme_dbbuf_refresh(n);
				continue;
			}
			pthread_cond_wait(&n->cond, &fn->lock);
			looked = false;
		}
		if (n->stop)
			break;
		if (n->shutdown_pending) {
			n->shutdown_pending = false;
			pthread_mutex_unlock(&fn->lock);
			if (nvme_store_sync(n) < 0)
				NVME_LOG(n, LOG_LVL_WARN, "flush at shutdown: %s", strerror(errno));
			pthread_mutex_lock(&fn->lock);
			if ((n->csts & NVME_CSTS_SHST_MASK) == NVME_CSTS_SHST_OCCURRING)
				n->csts = (n->csts & ~NVME_CSTS_SHST_MASK) |
					  NVME_CSTS_SHST_COMPLETE;
			continue;
		}
		nvme_process(n, (unsigned int)q);
	}
	pthread_mutex_unlock(&fn->lock);
	return NULL;
}
