// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nvme: the worker pool: a worker picks a submission queue round-robin,
 * fetches one command, runs it and posts its completion; several workers
 * do so at once (the rules are in nvme.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "nvme.h"

/* Room for one more fetched command: posted entries and promised slots leave one free. */
static bool nvme_cq_room(const struct nvme_cq *cq)
{
	uint32_t used = (cq->tail + cq->size - cq->head) % cq->size;

	return used + cq->reserved + 1 < cq->size;
}

static bool nvme_sq_ready(const struct nvme_ctrl *n, unsigned int q)
{
	const struct nvme_sq *sq = &n->sq[q];

	return sq->valid && sq->head != sq->tail && nvme_cq_room(&n->cq[sq->cqid]);
}

/*
 * The SQ whose next command may be fetched now, -1 if none: one fetch at a
 * time (so the SQ head in a CQE never covers an entry not yet read); the
 * admin queue only once no I/O command is in flight, and no I/O command
 * while an admin command waits or runs. take: move the round-robin cursor.
 */
static int nvme_pick_sq(struct nvme_ctrl *n, bool take)
{
	if (!(n->csts & NVME_CSTS_RDY) || n->fatal || n->fetching || n->admin_busy)
		return -1;
	if (nvme_sq_ready(n, 0))
		return n->io_inflight ? -1 : 0;
	for (unsigned int i = 1; i <= n->ioqs; i++) {
		unsigned int q = (n->rr + i - 1) % n->ioqs + 1;

		if (nvme_sq_ready(n, q)) {
			if (take)
				n->rr = q;
			return (int)q;
		}
	}
	return -1;
}

int nvme_next_sq(struct nvme_ctrl *n)
{
	return nvme_pick_sq(n, true);
}

/*
 * A fetched command is over (posted or void) in generation gen: it no
 * longer holds anything back. A shadow-doorbell look in progress began
 * before this and may publish a stale EventIdx (a CQ just filled): it
 * looks again.
 */
static void nvme_command_done(struct nvme_ctrl *n, unsigned int qid, uint64_t gen)
{
	if (gen != n->generation)
		return;	/* the reset cleared the counts */
	if (qid)
		n->io_inflight--;
	else
		n->admin_busy = false;
	if (n->refreshing)
		n->db_kick = true;
}

/* Fetches, runs and completes one command of SQ qid. Entered and left with fn->lock held. */
void nvme_process(struct nvme_worker *w, unsigned int qid)
{
	struct nvme_ctrl *n = w->n;
	struct dext_function *fn = n->fn;
	struct nvme_sq *sq = &n->sq[qid];
	unsigned int cqid = sq->cqid;
	struct nvme_cq *cq = &n->cq[cqid];
	uint64_t gen = n->generation;
	uint64_t addr = sq->base + (uint64_t)sq->head * sizeof(struct nvme_sqe);
	struct nvme_result res = { 0 };
	struct nvme_sqe cmd;
	struct nvme_cqe cqe;
	bool wce = n->feat.wce;
	int r;

	/* The CQ slot is promised before the lock drops: no other worker can take it. */
	cq->reserved++;
	if (qid)
		n->io_inflight++;
	else
		n->admin_busy = true;
	n->fetching = true;
	pthread_mutex_unlock(&fn->lock);
	r = fn_dma_read(fn, addr, &cmd, sizeof(cmd), NULL);
	pthread_mutex_lock(&fn->lock);
	n->fetching = false;	/* ours whatever the generation: a reset leaves it */
	if (gen != n->generation)
		return;
	if (r < 0) {
		cq->reserved--;
		nvme_command_done(n, qid, gen);	/* a shutdown still completes */
		nvme_fatal(n, r == -EFAULT ? "SQ entry fetch faulted" : "SQ entry fetch failed",
			   addr);
		return;
	}
	sq->head = (sq->head + 1) % sq->size;
	/* More to fetch: another worker runs it while this one runs its own. */
	if (nvme_pick_sq(n, false) >= 0)
		pthread_cond_signal(&n->cond);
	pthread_mutex_unlock(&fn->lock);

	if (qid == 0)
		nvme_admin(w, &cmd, gen, &res);
	else
		nvme_io(w, &cmd, wce, &res);

	pthread_mutex_lock(&fn->lock);
	if (gen != n->generation)
		return;
	cq->reserved--;
	if (res.no_cqe) {
		nvme_command_done(n, qid, gen);
		return;
	}
	/* The next slot in order of completion, with the SQ head of this moment. */
	addr = cq->base + (uint64_t)cq->tail * sizeof(struct nvme_cqe);
	cqe = (struct nvme_cqe){
		.dw0 = res.dw0,
		.sq_head = (uint16_t)sq->head,
		.sq_id = (uint16_t)qid,
		.cid = cmd.cid,
		.status = (uint16_t)(res.status << 1 | cq->phase),
	};
	if (++cq->tail == cq->size) {
		cq->tail = 0;
		cq->phase ^= 1;
	}
	cq->posting++;
	if (res.status)
		NVME_LOG(n, LOG_LVL_DEBUG, "SQ%u cid %u opcode 0x%02x: status 0x%03x", qid,
			 cmd.cid, cmd.opcode, NVME_STATUS_CODE(res.status));
	pthread_mutex_unlock(&fn->lock);
	r = fn_dma_write(fn, addr, &cqe, sizeof(cqe), NULL);
	pthread_mutex_lock(&fn->lock);
	if (gen != n->generation)
		return;
	nvme_command_done(n, qid, gen);
	cq->posting--;
	if (r < 0) {
		nvme_fatal(n, r == -EFAULT ? "CQ entry post faulted" : "CQ entry post failed",
			   addr);
		return;
	}
	/*
	 * A later slot may be written before an earlier one, which the host
	 * cannot see past. The last post to land raises, once every slot up
	 * to the tail is written: no interrupt finds a stale slot first, and
	 * posts that overlap share one.
	 */
	if (cq->ien && !cq->posting)
		fn_raise_irq(fn, cq->vector);
}

static void *nvme_worker(void *arg)
{
	struct nvme_worker *w = arg;
	struct nvme_ctrl *n = w->n;
	struct dext_function *fn = n->fn;

	pthread_mutex_lock(&fn->lock);
	for (;;) {
		bool looked = false;
		int q = -1;

		while (!n->stop && !n->shutdown_pending && (q = nvme_next_sq(n)) < 0) {
			/* Shadow doorbells: one look (after EventIdx) before sleeping, one worker at a time. */
			if (n->dbbuf && !n->fatal && (n->csts & NVME_CSTS_RDY) && !n->refreshing &&
			    (!looked || n->db_kick)) {
				n->refreshing = true;
				looked = !nvme_dbbuf_refresh(n);
				n->refreshing = false;
				continue;
			}
			pthread_cond_wait(&n->cond, &fn->lock);
			looked = false;
		}
		if (n->stop)
			break;
		if (n->shutdown_pending) {
			/* The flush follows every write in flight; the last one to finish comes here. */
			if (n->io_inflight || n->admin_busy) {
				pthread_cond_wait(&n->cond, &fn->lock);
				continue;
			}
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
		nvme_process(w, (unsigned int)q);
	}
	pthread_mutex_unlock(&fn->lock);
	return NULL;
}

/* count workers, each with its scratch; on failure the ones started keep running (stop them). */
int nvme_workers_start(struct nvme_ctrl *n, unsigned int count)
{
	n->workers = calloc(count, sizeof(*n->workers));
	if (!n->workers)
		return -ENOMEM;
	n->nworkers = count;
	for (unsigned int i = 0; i < count; i++) {
		struct nvme_worker *w = &n->workers[i];

		w->n = n;
		w->bounce = malloc(NVME_MAX_XFER);
		w->prp = malloc(NVME_PAGE_SIZE);
		if (!w->bounce || !w->prp)
			return -ENOMEM;
	}
	for (unsigned int i = 0; i < count; i++) {
		struct nvme_worker *w = &n->workers[i];
		int r = pthread_create(&w->thread, NULL, nvme_worker, w);

		if (r)
			return -r;
		w->started = true;
	}
	return 0;
}

/* Stops and joins every worker; their scratch stays until nvme_workers_free(). */
void nvme_workers_stop(struct nvme_ctrl *n)
{
	pthread_mutex_lock(&n->fn->lock);
	n->stop = true;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->fn->lock);
	for (unsigned int i = 0; i < n->nworkers; i++) {
		if (n->workers[i].started)
			pthread_join(n->workers[i].thread, NULL);
		n->workers[i].started = false;
	}
}

void nvme_workers_free(struct nvme_ctrl *n)
{
	for (unsigned int i = 0; n->workers && i < n->nworkers; i++) {
		free(n->workers[i].bounce);
		free(n->workers[i].prp);
	}
	free(n->workers);
	n->workers = NULL;
	n->nworkers = 0;
}
