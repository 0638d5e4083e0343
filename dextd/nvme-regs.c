// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nvme: BAR0, the controller registers and doorbells; controller
 * enable, reset and shutdown (NVMe 1.4, 3.1 and 7.6).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/log.h"
#include "nvme.h"

void nvme_features_default(struct nvme_features *f, unsigned int ioqs)
{
	memset(f, 0, sizeof(*f));
	f->temp_over = NVME_WCTEMP;
	f->wce = true;
	f->nsqa = (uint16_t)(ioqs - 1);
	f->ncqa = (uint16_t)(ioqs - 1);
}

/*
 * Controller reset (CC.EN 1 -> 0, NVMe 1.4 7.3.2): every queue is deleted,
 * held AERs are dropped without completion, outstanding work is voided.
 * AQA, ASQ, ACQ and CC stay. fn->lock held.
 */
void nvme_ctrl_reset(struct nvme_ctrl *n)
{
	memset(n->sq, 0, sizeof(*n->sq) * (n->ioqs + 1));
	memset(n->cq, 0, sizeof(*n->cq) * (n->ioqs + 1));
	n->aers = 0;
	n->fatal = false;
	n->rr = 0;
	n->io_inflight = 0;	/* commands of the old controller no longer count */
	n->admin_busy = false;
	n->intms = 0;
	n->dbbuf = false;	/* the host configures shadow doorbells again */
	n->csts &= ~(NVME_CSTS_RDY | NVME_CSTS_CFS);
	nvme_features_default(&n->feat, n->ioqs);
	n->generation++;
}

/* CSTS.CFS: the controller stops until the host resets it. fn->lock held. */
void nvme_fatal(struct nvme_ctrl *n, const char *what, uint64_t iova)
{
	NVME_LOG(n, LOG_LVL_WARN, "controller fatal status: %s at IOVA 0x%llx", what,
		 (unsigned long long)iova);
	n->fatal = true;
	n->csts |= NVME_CSTS_CFS;
}

/* CC.EN 0 -> 1 (7.6.1): checks the admin queue and sizes, then RDY. fn->lock held. */
static void nvme_enable(struct nvme_ctrl *n)
{
	uint32_t asqs = NVME_AQA_ASQS(n->aqa) + 1, acqs = NVME_AQA_ACQS(n->aqa) + 1;
	const char *why = NULL;

	if (NVME_CC_CSS(n->cc) != 0)
		why = "CC.CSS is not the NVM command set";
	else if (NVME_CC_MPS(n->cc) != 0)
		why = "CC.MPS outside CAP.MPSMIN..MPSMAX";
	else if (NVME_CC_AMS(n->cc) != 0)
		why = "CC.AMS: only round robin";
	else if (NVME_CC_IOSQES(n->cc) != 6 || NVME_CC_IOCQES(n->cc) != 4)
		why = "CC.IOSQES/IOCQES are not 64/16 bytes";
	else if (asqs < 2 || acqs < 2)
		why = "AQA: admin queues need at least 2 entries";
	else if ((n->asq | n->acq) & (NVME_PAGE_SIZE - 1))
		why = "ASQ/ACQ not page aligned";
	if (why) {
		NVME_LOG(n, LOG_LVL_WARN, "enable refused: %s", why);
		n->csts |= NVME_CSTS_CFS;
		return;
	}
	n->sq[0] = (struct nvme_sq){ .valid = true, .cqid = 0, .size = asqs, .base = n->asq };
	n->cq[0] = (struct nvme_cq){ .valid = true, .ien = true, .vector = 0, .size = acqs,
				     .base = n->acq, .phase = 1, .sqs = 1 };
	n->csts &= ~(NVME_CSTS_SHST_MASK | NVME_CSTS_CFS);
	n->csts |= NVME_CSTS_RDY;
	n->fatal = false;
}

static void nvme_write_cc(struct nvme_ctrl *n, uint32_t cc)
{
	uint32_t old = n->cc;

	n->cc = cc;
	if ((old ^ cc) & NVME_CC_EN) {
		if (cc & NVME_CC_EN)
			nvme_enable(n);
		else
			nvme_ctrl_reset(n);
	}
	/*
	 * Shutdown (7.6.2): the worker flushes the backing store and then
	 * reports completion; clearing SHN clears the status.
	 */
	if (NVME_CC_SHN(cc) && !NVME_CC_SHN(old)) {
		n->csts = (n->csts & ~NVME_CSTS_SHST_MASK) | NVME_CSTS_SHST_OCCURRING;
		n->shutdown_pending = true;
		pthread_cond_signal(&n->cond);
	} else if (!NVME_CC_SHN(cc) && NVME_CC_SHN(old)) {
		n->csts &= ~NVME_CSTS_SHST_MASK;
		n->shutdown_pending = false;
	}
}

/* A new SQ tail from a doorbell or its shadow; false if invalid. fn->lock held. */
bool nvme_set_sq_tail(struct nvme_ctrl *n, unsigned int qid, uint32_t val)
{
	struct nvme_sq *sq = &n->sq[qid];

	if (!sq->valid || val >= sq->size) {
		NVME_LOG(n, LOG_LVL_DEBUG, "SQ%u tail %u invalid, ignored", qid, val);
		return false;
	}
	sq->tail = val;
	return true;
}

/* A new CQ head from a doorbell or its shadow; false if invalid. fn->lock held. */
bool nvme_set_cq_head(struct nvme_ctrl *n, unsigned int qid, uint32_t val)
{
	struct nvme_cq *cq = &n->cq[qid];
	uint32_t posted, advance;

	if (!cq->valid || val >= cq->size) {
		NVME_LOG(n, LOG_LVL_DEBUG, "CQ%u head %u invalid, ignored", qid, val);
		return false;
	}
	/* The head may only move over entries the controller has posted. */
	posted = (cq->tail + cq->size - cq->head) % cq->size;
	advance = (val + cq->size - cq->head) % cq->size;
	if (advance > posted) {
		NVME_LOG(n, LOG_LVL_DEBUG, "CQ%u head %u beyond tail %u, ignored", qid, val,
			 cq->tail);
		return false;
	}
	cq->head = val;
	return true;
}

static void nvme_doorbell(struct nvme_ctrl *n, uint64_t off, uint32_t val)
{
	unsigned int idx = (unsigned int)((off - NVME_REG_DBS) / 4), qid = idx / 2;

	if (!(n->csts & NVME_CSTS_RDY) || n->fatal || qid > n->ioqs) {
		NVME_LOG(n, LOG_LVL_DEBUG, "doorbell 0x%llx ignored", (unsigned long long)off);
		return;
	}
	/*
	 * With shadow doorbells an I/O queue's MMIO doorbell is only a wakeup:
	 * the host writes the shadow first, and this write, posted through
	 * QEMU and the server, may arrive after newer shadow values were
	 * taken, when its value would move the queue backwards.
	 */
	if (qid && n->dbbuf) {
		n->db_kick = true;	/* kept if the worker is in a refresh right now */
		pthread_cond_signal(&n->cond);
		return;
	}
	if (!(idx & 1) ? nvme_set_sq_tail(n, qid, val) : nvme_set_cq_head(n, qid, val))
		pthread_cond_signal(&n->cond);
}

static uint32_t nvme_reg_read32(struct nvme_ctrl *n, uint64_t off)
{
	switch (off) {
	case NVME_REG_CAP:
		return (uint32_t)n->cap;
	case NVME_REG_CAP + 4:
		return (uint32_t)(n->cap >> 32);
	case NVME_REG_VS:
		return NVME_VS_1_4;
	case NVME_REG_INTMS:
	case NVME_REG_INTMC:
		return n->intms;
	case NVME_REG_CC:
		return n->cc;
	case NVME_REG_CSTS:
		return n->csts;
	case NVME_REG_AQA:
		return n->aqa;
	case NVME_REG_ASQ:
		return (uint32_t)n->asq;
	case NVME_REG_ASQ + 4:
		return (uint32_t)(n->asq >> 32);
	case NVME_REG_ACQ:
		return (uint32_t)n->acq;
	case NVME_REG_ACQ + 4:
		return (uint32_t)(n->acq >> 32);
	default:
		return 0;	/* NSSR, CMB, PMR, reserved, and the write-only doorbells */
	}
}

/* One dword register write; mask says which bytes the access covered. */
static void nvme_reg_write32(struct nvme_ctrl *n, uint64_t off, uint32_t val, uint32_t mask)
{
	val &= mask;
	if (off >= NVME_REG_DBS) {
		if (mask != UINT32_MAX) {
			NVME_LOG(n, LOG_LVL_DEBUG, "partial doorbell write at 0x%llx ignored",
				 (unsigned long long)off);
			return;
		}
		nvme_doorbell(n, off, val);
		return;
	}
	switch (off) {
	case NVME_REG_INTMS:
		/*
		 * Set/clear a mask for pin-based and MSI interrupts; with MSI-X
		 * (the only kind offered) the host must not use them (3.1.3).
		 */
		n->intms |= val;
		break;
	case NVME_REG_INTMC:
		n->intms &= ~val;
		break;
	case NVME_REG_CC:
		nvme_write_cc(n, (n->cc & ~mask) | val);
		break;
	case NVME_REG_AQA:
		n->aqa = ((n->aqa & ~mask) | val) & 0x0fff0fff;
		break;
	case NVME_REG_ASQ:
		n->asq = (n->asq & ~(uint64_t)mask) | val;
		break;
	case NVME_REG_ASQ + 4:
		n->asq = (n->asq & ~((uint64_t)mask << 32)) | (uint64_t)val << 32;
		break;
	case NVME_REG_ACQ:
		n->acq = (n->acq & ~(uint64_t)mask) | val;
		break;
	case NVME_REG_ACQ + 4:
		n->acq = (n->acq & ~((uint64_t)mask << 32)) | (uint64_t)val << 32;
		break;
	default:
		/* CAP, VS, CSTS are read-only; NSSR is not supported (CAP.NSSRS = 0). */
		break;
	}
}

int nvme_mmio_read(struct dext_function *fn, unsigned int bar, uint64_t off, unsigned int width,
		   uint64_t *val)
{
	struct nvme_ctrl *n = fn->priv;
	uint64_t v;

	if (bar != 0) {
		*val = 0;	/* BAR4: QEMU emulates the MSI-X table itself */
		return 0;
	}
	if (width == 8) {
		v = nvme_reg_read32(n, off) | (uint64_t)nvme_reg_read32(n, off + 4) << 32;
	} else {
		v = nvme_reg_read32(n, off & ~3ull) >> (8 * (off & 3));
		if (width < 4)
			v &= (1ull << (8 * width)) - 1;
	}
	*val = v;
	return 0;
}

int nvme_mmio_write(struct dext_function *fn, unsigned int bar, uint64_t off, unsigned int width,
		    uint64_t val)
{
	struct nvme_ctrl *n = fn->priv;
	unsigned int shift = 8 * (off & 3);

	if (bar != 0)
		return 0;
	if (width == 8) {
		nvme_reg_write32(n, off, (uint32_t)val, UINT32_MAX);
		nvme_reg_write32(n, off + 4, (uint32_t)(val >> 32), UINT32_MAX);
	} else if (width == 4) {
		nvme_reg_write32(n, off, (uint32_t)val, UINT32_MAX);
	} else {
		uint32_t mask = (uint32_t)((1ull << (8 * width)) - 1);

		nvme_reg_write32(n, off & ~3ull, (uint32_t)val << shift, mask << shift);
	}
	return 0;
}
