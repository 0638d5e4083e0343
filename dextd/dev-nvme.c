// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nvme: a simulated NVMe 1.4 controller with one namespace, enough for the
 * stock Linux nvme driver (structures and constants in nvme-spec.h).
 *
 * BAR0 (16 KiB, 64-bit, trapped) holds the controller registers and the
 * doorbells (CAP.DSTRD = 0); BAR4 holds the MSI-X table and PBA, which QEMU
 * emulates itself, so it reads as zero here. Vector 0 is the admin queue's,
 * one more per I/O queue pair.
 *
 * Execution: a doorbell write only records the new tail or head and wakes
 * the worker thread. The worker serves the submission queues round-robin,
 * one command at a time; it copies what it needs under fn->lock and drops
 * the lock for every DMA and file access. All memory the host names (queue
 * entries, PRP lists, data) is reached by IOVA through fn_dma_read/write,
 * i.e. through the DART. A controller reset bumps a generation counter so
 * that whatever the worker was doing for the old controller is discarded.
 *
 * Only the worker posts completions, and it fetches a command only when
 * its completion queue has a free slot, so an unconsumed CQE is never
 * overwritten: a full CQ stalls its SQs until the host moves the CQ head.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/parse.h"
#include "function.h"
#include "nvme-spec.h"

#define NVME_BAR0_SIZE		0x4000
#define NVME_BAR4_SIZE		0x4000
#define NVME_MSIX_PBA_OFFSET	0x2000
#define NVME_QUEUES_DEFAULT	8	/* I/O queue pairs */
#define NVME_QUEUES_MAX		64
#define NVME_MQES		1023	/* CAP.MQES: 1024 entries per queue */
#define NVME_TIMEOUT		0x14	/* CAP.TO: 10 s in 500 ms units */
#define NVME_PAGE_SIZE		4096u	/* CC.MPS 0: MPSMIN = MPSMAX = 0 */
#define NVME_MDTS		7	/* 2^7 pages: 512 KiB per command */
#define NVME_MAX_XFER		(NVME_PAGE_SIZE << NVME_MDTS)
#define NVME_MAX_SEGS		(NVME_MAX_XFER / NVME_PAGE_SIZE + 1)
#define NVME_PRP_PER_PAGE	(NVME_PAGE_SIZE / 8)
#define NVME_AERL		3	/* 4 outstanding Asynchronous Event Requests */
#define NVME_ACL		3
#define NVME_SIZE_DEFAULT	(256ull << 20)
#define NVME_NSID		1
#define NVME_NSID_ALL		0xffffffffu
#define NVME_WCTEMP		343	/* kelvin */
#define NVME_CCTEMP		373
#define NVME_TEMP		311	/* what the SMART log reports */

/* Our status values carry DNR: retrying a malformed command cannot help. */
#define NVME_ERR(sc)		((uint16_t)((sc) | NVME_STATUS_DNR))

struct nvme_sq {
	bool valid;
	uint16_t cqid;
	uint32_t size;
	uint64_t base;		/* IOVA */
	uint32_t head;		/* next entry the worker fetches */
	uint32_t tail;		/* from the doorbell */
};

struct nvme_cq {
	bool valid;
	bool ien;
	uint16_t vector;
	uint32_t size;
	uint64_t base;
	uint32_t head;		/* from the doorbell */
	uint32_t tail;		/* next entry the worker posts */
	uint8_t phase;
	unsigned int sqs;	/* SQs that complete here */
};

struct nvme_features {
	uint32_t arbitration;
	uint32_t power_mgmt;
	uint16_t temp_over, temp_under;
	bool wce;
	uint16_t nsqa, ncqa;	/* 0's based */
	uint32_t irq_coalesce;
	uint32_t async_event;
};

struct nvme_seg {
	uint64_t iova;
	uint32_t len;
};

/* How one command ended; no_cqe: held (an AER) or void (a reset intervened). */
struct nvme_result {
	uint16_t status;
	uint32_t dw0;
	bool no_cqe;
};

struct nvme_ctrl {
	struct dext_function *fn;

	/* Fixed at creation. */
	unsigned int ioqs;		/* I/O queue pairs; vectors = ioqs + 1 */
	uint64_t size;			/* namespace bytes */
	uint64_t nsze;			/* namespace LBAs */
	unsigned int lba_shift;
	int fd;				/* backing file, or -1 */
	uint8_t *mem;			/* memory backing when fd < 0 */
	char sn[21];
	uint8_t eui64[8];
	uint8_t nguid[16];

	/* Registers and queue state, guarded by fn->lock. */
	uint64_t cap;
	uint32_t cc, csts, aqa, intms;
	uint64_t asq, acq;
	struct nvme_sq *sq;		/* [ioqs + 1] */
	struct nvme_cq *cq;
	unsigned int aers;		/* held Asynchronous Event Requests */
	struct nvme_features feat;
	bool fatal;			/* CSTS.CFS: nothing runs until a reset */
	bool shutdown_pending;
	unsigned int rr;		/* round-robin cursor over SQs */
	uint64_t generation;		/* bumped by every controller reset */
	bool stop;
	pthread_cond_t cond;
	pthread_t worker;
	bool worker_started;

	/* Worker only. */
	uint8_t *bounce;		/* NVME_MAX_XFER bytes */
	uint64_t *prp;			/* one PRP list page */
	struct nvme_seg segs[NVME_MAX_SEGS];
};

#define NVME_LOG(n, lvl, fmt, ...)					\
	log_msg(lvl, "%02x:%02x.%x: nvme: " fmt, (n)->fn->bus, (n)->fn->dev,	\
		(n)->fn->fn, ##__VA_ARGS__)

static void nvme_features_default(struct nvme_features *f, unsigned int ioqs)
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
static void nvme_ctrl_reset(struct nvme_ctrl *n)
{
	memset(n->sq, 0, sizeof(*n->sq) * (n->ioqs + 1));
	memset(n->cq, 0, sizeof(*n->cq) * (n->ioqs + 1));
	n->aers = 0;
	n->fatal = false;
	n->rr = 0;
	n->intms = 0;
	n->csts &= ~(NVME_CSTS_RDY | NVME_CSTS_CFS);
	nvme_features_default(&n->feat, n->ioqs);
	n->generation++;
}

/* CSTS.CFS: the controller stops until the host resets it. fn->lock held. */
static void nvme_fatal(struct nvme_ctrl *n, const char *what, uint64_t iova)
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

static void nvme_doorbell(struct nvme_ctrl *n, uint64_t off, uint32_t val)
{
	unsigned int idx = (unsigned int)((off - NVME_REG_DBS) / 4), qid = idx / 2;

	if (!(n->csts & NVME_CSTS_RDY) || n->fatal || qid > n->ioqs) {
		NVME_LOG(n, LOG_LVL_DEBUG, "doorbell 0x%llx ignored", (unsigned long long)off);
		return;
	}
	if (!(idx & 1)) {
		struct nvme_sq *sq = &n->sq[qid];

		if (!sq->valid || val >= sq->size) {
			NVME_LOG(n, LOG_LVL_DEBUG, "SQ%u tail %u invalid, ignored", qid, val);
			return;
		}
		sq->tail = val;
	} else {
		struct nvme_cq *cq = &n->cq[qid];
		uint32_t posted, advance;

		if (!cq->valid || val >= cq->size) {
			NVME_LOG(n, LOG_LVL_DEBUG, "CQ%u head %u invalid, ignored", qid, val);
			return;
		}
		/* The head may only move over entries the controller has posted. */
		posted = (cq->tail + cq->size - cq->head) % cq->size;
		advance = (val + cq->size - cq->head) % cq->size;
		if (advance > posted) {
			NVME_LOG(n, LOG_LVL_DEBUG, "CQ%u head %u beyond tail %u, ignored", qid, val,
				 cq->tail);
			return;
		}
		cq->head = val;
	}
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

static int nvme_mmio_read(struct dext_function *fn, unsigned int bar, uint64_t off,
			  unsigned int width, uint64_t *val)
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

static int nvme_mmio_write(struct dext_function *fn, unsigned int bar, uint64_t off,
			   unsigned int width, uint64_t val)
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

/* ---- the worker: data movement ---- */

/*
 * Turns a command's PRP1/PRP2 into IOVA segments for len bytes (NVMe 1.4,
 * 4.3): PRP1 may start anywhere dword aligned in a page; PRP2 is either the
 * second page or a pointer to a PRP list, whose entries are page aligned
 * and whose last entry, when a list page is full and more follow, points
 * to the next list page. Lists are fetched through the DART too.
 */
static uint16_t nvme_map_prp(struct nvme_ctrl *n, uint64_t prp1, uint64_t prp2, uint32_t len,
			     unsigned int *nsegs)
{
	uint32_t first, avail;
	unsigned int ns = 0;
	uint64_t list;

	if (prp1 & 3)
		return NVME_ERR(NVME_SC_INVALID_PRP_OFFSET);
	first = NVME_PAGE_SIZE - (uint32_t)(prp1 & (NVME_PAGE_SIZE - 1));
	if (first > len)
		first = len;
	n->segs[ns++] = (struct nvme_seg){ prp1, first };
	len -= first;
	if (len == 0)
		goto out;
	if (len <= NVME_PAGE_SIZE) {
		if (prp2 & (NVME_PAGE_SIZE - 1))
			return NVME_ERR(NVME_SC_INVALID_PRP_OFFSET);
		n->segs[ns++] = (struct nvme_seg){ prp2, len };
		goto out;
	}
	/* A list pointer may have an offset into its page (dword aligned). */
	list = prp2;
	if (list & 3)
		return NVME_ERR(NVME_SC_INVALID_PRP_OFFSET);
	avail = (NVME_PAGE_SIZE - (uint32_t)(list & (NVME_PAGE_SIZE - 1))) / 8;
	while (len) {
		uint32_t need = (len + NVME_PAGE_SIZE - 1) / NVME_PAGE_SIZE;
		uint32_t take = need <= avail ? need : avail;
		bool chained = need > avail;

		if (fn_dma_read(n->fn, list, n->prp, (size_t)take * 8, NULL) < 0) {
			NVME_LOG(n, LOG_LVL_DEBUG, "PRP list at IOVA 0x%llx unreadable",
				 (unsigned long long)list);
			return NVME_ERR(NVME_SC_DATA_XFER_ERROR);
		}
		for (uint32_t i = 0; i < take - (chained ? 1 : 0); i++) {
			uint32_t l = len < NVME_PAGE_SIZE ? len : NVME_PAGE_SIZE;

			if (n->prp[i] & (NVME_PAGE_SIZE - 1))
				return NVME_ERR(NVME_SC_INVALID_PRP_OFFSET);
			n->segs[ns++] = (struct nvme_seg){ n->prp[i], l };
			len -= l;
		}
		if (chained) {
			list = n->prp[take - 1];
			if (list & (NVME_PAGE_SIZE - 1))
				return NVME_ERR(NVME_SC_INVALID_PRP_OFFSET);
			avail = NVME_PRP_PER_PAGE;
		}
	}
out:
	*nsegs = ns;
	return NVME_SC_SUCCESS;
}

/* Moves buf to (to_host) or from the mapped segments. */
static uint16_t nvme_dma_segs(struct nvme_ctrl *n, unsigned int nsegs, uint8_t *buf,
			      bool to_host)
{
	size_t off = 0;

	for (unsigned int i = 0; i < nsegs; i++) {
		const struct nvme_seg *s = &n->segs[i];
		int r = to_host ? fn_dma_write(n->fn, s->iova, buf + off, s->len, NULL)
				: fn_dma_read(n->fn, s->iova, buf + off, s->len, NULL);

		if (r < 0) {
			NVME_LOG(n, LOG_LVL_DEBUG, "data %s at IOVA 0x%llx failed: %s",
				 to_host ? "write" : "read", (unsigned long long)s->iova,
				 strerror(-r));
			return NVME_ERR(NVME_SC_DATA_XFER_ERROR);
		}
		off += s->len;
	}
	return NVME_SC_SUCCESS;
}

/* Sends len bytes of buf to the command's data buffer. */
static uint16_t nvme_to_host(struct nvme_ctrl *n, const struct nvme_sqe *cmd, uint8_t *buf,
			     uint32_t len)
{
	unsigned int nsegs;
	uint16_t st = nvme_map_prp(n, cmd->prp1, cmd->prp2, len, &nsegs);

	return st ? st : nvme_dma_segs(n, nsegs, buf, true);
}

/* The namespace's bytes: memory, or the backing file with pread/pwrite. */
static int nvme_store_io(struct nvme_ctrl *n, uint8_t *buf, uint64_t off, size_t len, bool write)
{
	if (n->fd < 0) {
		if (write)
			memcpy(n->mem + off, buf, len);
		else
			memcpy(buf, n->mem + off, len);
		return 0;
	}
	while (len) {
		ssize_t r = write ? pwrite(n->fd, buf, len, (off_t)off)
				  : pread(n->fd, buf, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0) {
			if (write)
				return -EIO;
			memset(buf, 0, len);	/* past the end of a sparse file */
			return 0;
		}
		buf += r;
		off += (uint64_t)r;
		len -= (size_t)r;
	}
	return 0;
}

static int nvme_store_sync(struct nvme_ctrl *n)
{
	if (n->fd >= 0 && fdatasync(n->fd) < 0)
		return -errno;
	return 0;
}

/* ---- admin commands (NVMe 1.4, 5) ---- */

static bool nvme_lock_current(struct nvme_ctrl *n, uint64_t gen, struct nvme_result *res)
{
	pthread_mutex_lock(&n->fn->lock);
	if (n->generation == gen)
		return true;
	pthread_mutex_unlock(&n->fn->lock);
	res->no_cqe = true;	/* a reset came in between: the command is void */
	return false;
}

static void nvme_pad(char *dst, size_t len, const char *src)
{
	size_t l = strlen(src);

	memset(dst, ' ', len);
	memcpy(dst, src, l < len ? l : len);
}

static void nvme_fill_id_ctrl(struct nvme_ctrl *n, struct nvme_id_ctrl *id)
{
	id->vid = NVME_PCI_VENDOR_ID;
	id->ssvid = NVME_PCI_VENDOR_ID;
	nvme_pad(id->sn, sizeof(id->sn), n->sn);
	nvme_pad(id->mn, sizeof(id->mn), "vfio-apple dextd NVMe");
	nvme_pad(id->fr, sizeof(id->fr), "1.0");
	id->rab = 6;
	id->mdts = NVME_MDTS;
	id->cntlid = 1;
	id->ver = NVME_VS_1_4;
	id->cntrltype = 1;		/* I/O controller */
	id->oacs = 0;			/* no security, format, firmware, NS management */
	id->acl = NVME_ACL;
	id->aerl = NVME_AERL;
	id->frmw = 0x03;		/* one slot, read-only: no firmware commands */
	id->lpa = 0x04;			/* extended Get Log Page data (NUMDU, LPO) */
	id->elpe = 0;			/* one error log entry */
	id->npss = 0;
	id->wctemp = NVME_WCTEMP;
	id->cctemp = NVME_CCTEMP;
	id->sqes = 0x66;
	id->cqes = 0x44;
	id->nn = 1;
	id->oncs = 0x0c;		/* Write Zeroes, Dataset Management */
	id->vwc = 0x07;			/* volatile cache; Flush to NSID FFFFFFFFh allowed */
	id->sgls = 0;			/* PRPs only */
	snprintf(id->subnqn, sizeof(id->subnqn), "nqn.2024-01.org.vfio-apple:nvme:%s", n->sn);
	id->psd[0].mp = 2500;		/* 25 W */
}

static void nvme_fill_id_ns(struct nvme_ctrl *n, struct nvme_id_ns *id, bool common)
{
	if (!common) {
		uint64_t bytes = n->size;

		id->nsze = id->ncap = id->nuse = n->nsze;
		memcpy(id->nvmcap, &bytes, sizeof(bytes));
		memcpy(id->nguid, n->nguid, sizeof(id->nguid));
		memcpy(id->eui64, n->eui64, sizeof(id->eui64));
	}
	id->nlbaf = 0;
	id->flbas = 0;
	id->lbaf[0].lbads = (uint8_t)n->lba_shift;
}

/* Identify (5.15): CNS 0, 1, 2, 3; 5 and 6 for the NVM set are empty. */
static void nvme_identify(struct nvme_ctrl *n, const struct nvme_sqe *cmd, struct nvme_result *res)
{
	unsigned int cns = cmd->cdw10 & 0xff, csi = cmd->cdw11 >> 24;
	uint8_t *buf = n->bounce;

	memset(buf, 0, NVME_IDENTIFY_SIZE);
	switch (cns) {
	case NVME_CNS_NS:
		if (cmd->nsid != NVME_NSID && cmd->nsid != NVME_NSID_ALL)
			goto invalid_ns;
		nvme_fill_id_ns(n, (struct nvme_id_ns *)buf, cmd->nsid == NVME_NSID_ALL);
		break;
	case NVME_CNS_CTRL:
		nvme_fill_id_ctrl(n, (struct nvme_id_ctrl *)buf);
		break;
	case NVME_CNS_ACTIVE_NS_LIST:
		/* Active NSIDs greater than the one given (5.15.2.2). */
		if (cmd->nsid >= 0xfffffffe)
			goto invalid_ns;
		if (cmd->nsid < NVME_NSID) {
			uint32_t one = NVME_NSID;

			memcpy(buf, &one, sizeof(one));
		}
		break;
	case NVME_CNS_NS_DESC_LIST: {
		uint8_t *p = buf;

		if (cmd->nsid != NVME_NSID)
			goto invalid_ns;
		p[0] = NVME_NIDT_EUI64;
		p[1] = 8;
		memcpy(p + 4, n->eui64, 8);
		p += 4 + 8;
		p[0] = NVME_NIDT_NGUID;
		p[1] = 16;
		memcpy(p + 4, n->nguid, 16);
		p += 4 + 16;
		p[0] = NVME_NIDT_CSI;
		p[1] = 1;
		p[4] = 0;	/* NVM command set */
		break;
	}
	case NVME_CNS_CS_NS:
		if (csi != 0)
			goto invalid_field;
		if (cmd->nsid != NVME_NSID)
			goto invalid_ns;
		break;
	case NVME_CNS_CS_CTRL:
		if (csi != 0)
			goto invalid_field;
		break;
	default:
		goto invalid_field;
	}
	res->status = nvme_to_host(n, cmd, buf, NVME_IDENTIFY_SIZE);
	return;
invalid_ns:
	res->status = NVME_ERR(NVME_SC_INVALID_NS);
	return;
invalid_field:
	res->status = NVME_ERR(NVME_SC_INVALID_FIELD);
}

/* Get Log Page (5.14): error information, SMART / health, firmware slot. */
static void nvme_get_log(struct nvme_ctrl *n, const struct nvme_sqe *cmd, struct nvme_result *res)
{
	unsigned int lid = cmd->cdw10 & 0xff;
	uint64_t numd = ((uint64_t)(cmd->cdw11 & 0xffff) << 16 | cmd->cdw10 >> 16) + 1;
	uint64_t len = numd * 4, lpo = (uint64_t)cmd->cdw13 << 32 | cmd->cdw12;
	uint8_t log[NVME_LOG_SMART_SIZE] = { 0 };
	size_t log_len;

	switch (lid) {
	case NVME_LOG_ERROR:
		log_len = NVME_LOG_ERROR_ENTRY;		/* ELPE + 1 entries, none logged */
		break;
	case NVME_LOG_SMART: {
		uint16_t temp = NVME_TEMP;

		log_len = NVME_LOG_SMART_SIZE;
		memcpy(log + 1, &temp, 2);	/* composite temperature */
		log[3] = 100;			/* available spare, % */
		log[4] = 10;			/* its threshold */
		break;
	}
	case NVME_LOG_FW_SLOT:
		log_len = NVME_LOG_FW_SLOT_SIZE;
		log[0] = 1;			/* slot 1 active */
		nvme_pad((char *)log + 8, 8, "1.0");
		break;
	default:
		res->status = NVME_ERR(NVME_SC_INVALID_LOG_PAGE);
		return;
	}
	if (len > NVME_MAX_XFER || (lpo & 3) || lpo > log_len) {
		res->status = NVME_ERR(NVME_SC_INVALID_FIELD);
		return;
	}
	memset(n->bounce, 0, len);
	if (lpo < log_len)
		memcpy(n->bounce, log + lpo, len < log_len - lpo ? len : log_len - lpo);
	res->status = nvme_to_host(n, cmd, n->bounce, (uint32_t)len);
}

static void nvme_set_features(struct nvme_ctrl *n, const struct nvme_sqe *cmd, uint64_t gen,
			      struct nvme_result *res)
{
	unsigned int fid = cmd->cdw10 & 0xff;
	uint32_t v = cmd->cdw11;
	struct nvme_features *f = &n->feat;

	if (cmd->cdw10 >> 31) {
		res->status = NVME_ERR(NVME_SC_FEATURE_NOT_SAVEABLE);
		return;
	}
	if (!nvme_lock_current(n, gen, res))
		return;
	switch (fid) {
	case NVME_FEAT_ARBITRATION:
		f->arbitration = v;
		break;
	case NVME_FEAT_POWER_MGMT:
		if ((v & 0x1f) != 0)	/* NPSS = 0: power state 0 only */
			goto invalid;
		f->power_mgmt = v;
		break;
	case NVME_FEAT_TEMP_THRESH: {
		unsigned int tmpsel = (v >> 16) & 0xf, thsel = (v >> 20) & 0x3;

		/* Composite temperature only; other sensors do not exist. */
		if (tmpsel == 0 && thsel == 0)
			f->temp_over = (uint16_t)v;
		else if (tmpsel == 0 && thsel == 1)
			f->temp_under = (uint16_t)v;
		else
			goto invalid;
		break;
	}
	case NVME_FEAT_VWC:
		f->wce = v & 1;
		break;
	case NVME_FEAT_NUM_QUEUES: {
		uint32_t nsqr = v & 0xffff, ncqr = v >> 16;

		if (nsqr == 0xffff || ncqr == 0xffff)
			goto invalid;
		/* Only before any I/O queue exists (5.21.1.7). */
		for (unsigned int q = 1; q <= n->ioqs; q++) {
			if (n->sq[q].valid || n->cq[q].valid) {
				res->status = NVME_ERR(NVME_SC_CMD_SEQ_ERROR);
				goto out;
			}
		}
		f->nsqa = (uint16_t)(nsqr < n->ioqs - 1 ? nsqr : n->ioqs - 1);
		f->ncqa = (uint16_t)(ncqr < n->ioqs - 1 ? ncqr : n->ioqs - 1);
		res->dw0 = f->nsqa | (uint32_t)f->ncqa << 16;
		break;
	}
	case NVME_FEAT_IRQ_COALESCE:
		f->irq_coalesce = v & 0xffff;	/* accepted; every CQE interrupts */
		break;
	case NVME_FEAT_ASYNC_EVENT:
		f->async_event = v;
		break;
	default:
		goto invalid;
	}
	goto out;
invalid:
	res->status = NVME_ERR(NVME_SC_INVALID_FIELD);
out:
	pthread_mutex_unlock(&n->fn->lock);
}

static void nvme_get_features(struct nvme_ctrl *n, const struct nvme_sqe *cmd, uint64_t gen,
			      struct nvme_result *res)
{
	unsigned int fid = cmd->cdw10 & 0xff, sel = (cmd->cdw10 >> 8) & 7;
	struct nvme_features dflt;
	const struct nvme_features *f = &n->feat;

	if (sel > 3) {
		res->status = NVME_ERR(NVME_SC_INVALID_FIELD);
		return;
	}
	if (!nvme_lock_current(n, gen, res))
		return;
	if (sel == 1 || sel == 2) {
		/* Default and saved values are the defaults: nothing is saveable. */
		nvme_features_default(&dflt, n->ioqs);
		f = &dflt;
	}
	switch (fid) {
	case NVME_FEAT_ARBITRATION:
		res->dw0 = f->arbitration;
		break;
	case NVME_FEAT_POWER_MGMT:
		res->dw0 = f->power_mgmt;
		break;
	case NVME_FEAT_TEMP_THRESH: {
		unsigned int tmpsel = (cmd->cdw11 >> 16) & 0xf, thsel = (cmd->cdw11 >> 20) & 3;

		if (tmpsel != 0 || thsel > 1)
			goto invalid;
		res->dw0 = thsel ? f->temp_under : f->temp_over;
		break;
	}
	case NVME_FEAT_VWC:
		res->dw0 = f->wce;
		break;
	case NVME_FEAT_NUM_QUEUES:
		res->dw0 = f->nsqa | (uint32_t)f->ncqa << 16;
		break;
	case NVME_FEAT_IRQ_COALESCE:
		res->dw0 = f->irq_coalesce;
		break;
	case NVME_FEAT_ASYNC_EVENT:
		res->dw0 = f->async_event;
		break;
	default:
		goto invalid;
	}
	if (sel == 3)
		res->dw0 = 0x4;	/* supported capabilities: changeable, not saveable */
	goto out;
invalid:
	res->status = NVME_ERR(NVME_SC_INVALID_FIELD);
out:
	pthread_mutex_unlock(&n->fn->lock);
}

/* Create I/O Completion Queue (5.3). */
static void nvme_create_cq(struct nvme_ctrl *n, const struct nvme_sqe *cmd, uint64_t gen,
			   struct nvme_result *res)
{
	uint32_t qid = cmd->cdw10 & 0xffff, size = (cmd->cdw10 >> 16) + 1;
	uint32_t iv = cmd->cdw11 >> 16;
	bool ien = cmd->cdw11 & NVME_CQ_IEN;

	if (!nvme_lock_current(n, gen, res))
		return;
	if (qid == 0 || qid > n->ioqs || n->cq[qid].valid)
		res->status = NVME_ERR(NVME_SC_INVALID_QID);
	else if (size < 2 || size > NVME_MQES + 1)
		res->status = NVME_ERR(NVME_SC_INVALID_QSIZE);
	else if (!(cmd->cdw11 & NVME_QUEUE_PC))
		res->status = NVME_ERR(NVME_SC_INVALID_FIELD);	/* CAP.CQR = 1 */
	else if (cmd->prp1 & (NVME_PAGE_SIZE - 1))
		res->status = NVME_ERR(NVME_SC_INVALID_PRP_OFFSET);
	else if (ien && iv > n->ioqs)	/* polled queues (IEN = 0) carry any IV */
		res->status = NVME_ERR(NVME_SC_INVALID_VECTOR);
	else
		n->cq[qid] = (struct nvme_cq){ .valid = true, .ien = ien, .vector = (uint16_t)iv,
					       .size = size, .base = cmd->prp1, .phase = 1 };
	pthread_mutex_unlock(&n->fn->lock);
}

/* Create I/O Submission Queue (5.4). */
static void nvme_create_sq(struct nvme_ctrl *n, const struct nvme_sqe *cmd, uint64_t gen,
			   struct nvme_result *res)
{
	uint32_t qid = cmd->cdw10 & 0xffff, size = (cmd->cdw10 >> 16) + 1;
	uint32_t cqid = cmd->cdw11 >> 16;

	if (!nvme_lock_current(n, gen, res))
		return;
	if (qid == 0 || qid > n->ioqs || n->sq[qid].valid)
		res->status = NVME_ERR(NVME_SC_INVALID_QID);
	else if (cqid == 0 || cqid > n->ioqs || !n->cq[cqid].valid)
		res->status = NVME_ERR(NVME_SC_CQ_INVALID);
	else if (size < 2 || size > NVME_MQES + 1)
		res->status = NVME_ERR(NVME_SC_INVALID_QSIZE);
	else if (!(cmd->cdw11 & NVME_QUEUE_PC))
		res->status = NVME_ERR(NVME_SC_INVALID_FIELD);
	else if (cmd->prp1 & (NVME_PAGE_SIZE - 1))
		res->status = NVME_ERR(NVME_SC_INVALID_PRP_OFFSET);
	else {
		/* QPRIO is ignored: arbitration is round robin (CC.AMS = 0). */
		n->sq[qid] = (struct nvme_sq){ .valid = true, .cqid = (uint16_t)cqid, .size = size,
					       .base = cmd->prp1 };
		n->cq[cqid].sqs++;
	}
	pthread_mutex_unlock(&n->fn->lock);
}

/*
 * Delete I/O Submission Queue (5.6). The worker runs one command at a
 * time, so no command of the queue is in flight; unfetched ones are gone.
 */
static void nvme_delete_sq(struct nvme_ctrl *n, const struct nvme_sqe *cmd, uint64_t gen,
			   struct nvme_result *res)
{
	uint32_t qid = cmd->cdw10 & 0xffff;

	if (!nvme_lock_current(n, gen, res))
		return;
	if (qid == 0 || qid > n->ioqs || !n->sq[qid].valid) {
		res->status = NVME_ERR(NVME_SC_INVALID_QID);
	} else {
		n->cq[n->sq[qid].cqid].sqs--;
		n->sq[qid].valid = false;
	}
	pthread_mutex_unlock(&n->fn->lock);
}

/* Delete I/O Completion Queue (5.5): not while an SQ still uses it. */
static void nvme_delete_cq(struct nvme_ctrl *n, const struct nvme_sqe *cmd, uint64_t gen,
			   struct nvme_result *res)
{
	uint32_t qid = cmd->cdw10 & 0xffff;

	if (!nvme_lock_current(n, gen, res))
		return;
	if (qid == 0 || qid > n->ioqs || !n->cq[qid].valid)
		res->status = NVME_ERR(NVME_SC_INVALID_QID);
	else if (n->cq[qid].sqs)
		res->status = NVME_ERR(NVME_SC_INVALID_QUEUE_DELETION);
	else
		n->cq[qid].valid = false;
	pthread_mutex_unlock(&n->fn->lock);
}

/*
 * Asynchronous Event Request (5.2): held, never completed, since this
 * controller has no events to report; a reset drops them.
 */
static void nvme_aer(struct nvme_ctrl *n, uint64_t gen, struct nvme_result *res)
{
	if (!nvme_lock_current(n, gen, res))
		return;
	if (n->aers > NVME_AERL)
		res->status = NVME_ERR(NVME_SC_AER_LIMIT);
	else {
		n->aers++;
		res->no_cqe = true;
	}
	pthread_mutex_unlock(&n->fn->lock);
}

static void nvme_admin(struct nvme_ctrl *n, const struct nvme_sqe *cmd, uint64_t gen,
		       struct nvme_result *res)
{
	if (cmd->flags & (NVME_SQE_FUSE_MASK | NVME_SQE_PSDT_MASK)) {
		res->status = NVME_ERR(NVME_SC_INVALID_FIELD);	/* no fused ops, no SGLs */
		return;
	}
	switch (cmd->opcode) {
	case NVME_ADM_IDENTIFY:
		nvme_identify(n, cmd, res);
		break;
	case NVME_ADM_GET_LOG_PAGE:
		nvme_get_log(n, cmd, res);
		break;
	case NVME_ADM_SET_FEATURES:
		nvme_set_features(n, cmd, gen, res);
		break;
	case NVME_ADM_GET_FEATURES:
		nvme_get_features(n, cmd, gen, res);
		break;
	case NVME_ADM_CREATE_CQ:
		nvme_create_cq(n, cmd, gen, res);
		break;
	case NVME_ADM_CREATE_SQ:
		nvme_create_sq(n, cmd, gen, res);
		break;
	case NVME_ADM_DELETE_SQ:
		nvme_delete_sq(n, cmd, gen, res);
		break;
	case NVME_ADM_DELETE_CQ:
		nvme_delete_cq(n, cmd, gen, res);
		break;
	case NVME_ADM_ASYNC_EVENT:
		nvme_aer(n, gen, res);
		break;
	case NVME_ADM_ABORT:
		res->dw0 = 1;	/* command not aborted (5.1) */
		break;
	case NVME_ADM_KEEP_ALIVE:
		break;
	default:
		NVME_LOG(n, LOG_LVL_DEBUG, "admin opcode 0x%02x not supported", cmd->opcode);
		res->status = NVME_ERR(NVME_SC_INVALID_OPCODE);
	}
}

/* ---- NVM commands (6) ---- */

/* SLBA/NLB of a Read, Write or Write Zeroes, checked against the namespace. */
static uint16_t nvme_lba_range(struct nvme_ctrl *n, const struct nvme_sqe *cmd, uint64_t *slba,
			       uint32_t *nlb)
{
	*slba = (uint64_t)cmd->cdw11 << 32 | cmd->cdw10;
	*nlb = (cmd->cdw12 & 0xffff) + 1;
	if (*slba > n->nsze || *nlb > n->nsze - *slba)
		return NVME_ERR(NVME_SC_LBA_RANGE);
	return NVME_SC_SUCCESS;
}

static uint16_t nvme_rw(struct nvme_ctrl *n, const struct nvme_sqe *cmd, bool write, bool wce)
{
	uint64_t slba;
	uint32_t nlb, len;
	unsigned int nsegs;
	bool fua = cmd->cdw12 & (1u << 30);
	uint16_t st;
	int r;

	/* The transfer size limit first: a longer one could not be mapped. */
	if ((((cmd->cdw12 & 0xffff) + 1ull) << n->lba_shift) > NVME_MAX_XFER)
		return NVME_ERR(NVME_SC_INVALID_FIELD);
	st = nvme_lba_range(n, cmd, &slba, &nlb);
	if (st)
		return st;
	len = nlb << n->lba_shift;
	st = nvme_map_prp(n, cmd->prp1, cmd->prp2, len, &nsegs);
	if (st)
		return st;
	if (write) {
		/* All data in before any of it lands: a fault writes nothing. */
		st = nvme_dma_segs(n, nsegs, n->bounce, false);
		if (st)
			return st;
		r = nvme_store_io(n, n->bounce, slba << n->lba_shift, len, true);
		if (r == 0 && (fua || !wce))
			r = nvme_store_sync(n);
		if (r < 0) {
			NVME_LOG(n, LOG_LVL_WARN, "backing write: %s", strerror(-r));
			return NVME_ERR(NVME_SC_WRITE_FAULT);
		}
		return NVME_SC_SUCCESS;
	}
	r = nvme_store_io(n, n->bounce, slba << n->lba_shift, len, false);
	if (r < 0) {
		NVME_LOG(n, LOG_LVL_WARN, "backing read: %s", strerror(-r));
		return NVME_ERR(NVME_SC_READ_ERROR);
	}
	return nvme_dma_segs(n, nsegs, n->bounce, true);
}

static uint16_t nvme_write_zeroes(struct nvme_ctrl *n, const struct nvme_sqe *cmd, bool wce)
{
	uint64_t slba, off, end;
	uint32_t nlb;
	uint16_t st = nvme_lba_range(n, cmd, &slba, &nlb);
	int r = 0;

	if (st)
		return st;
	off = slba << n->lba_shift;
	end = off + ((uint64_t)nlb << n->lba_shift);
	if (n->fd < 0) {
		memset(n->mem + off, 0, end - off);
		return NVME_SC_SUCCESS;
	}
	memset(n->bounce, 0, NVME_MAX_XFER);
	while (r == 0 && off < end) {
		size_t step = end - off < NVME_MAX_XFER ? end - off : NVME_MAX_XFER;

		r = nvme_store_io(n, n->bounce, off, step, true);
		off += step;
	}
	if (r == 0 && ((cmd->cdw12 & (1u << 30)) || !wce))
		r = nvme_store_sync(n);
	if (r < 0) {
		NVME_LOG(n, LOG_LVL_WARN, "backing write zeroes: %s", strerror(-r));
		return NVME_ERR(NVME_SC_WRITE_FAULT);
	}
	return NVME_SC_SUCCESS;
}

/*
 * Dataset Management (6.7): the ranges are fetched and checked; deallocate
 * is a hint we do not act on, which DLFEAT = 0 permits (reads of
 * deallocated blocks return the old data).
 */
static uint16_t nvme_dsm(struct nvme_ctrl *n, const struct nvme_sqe *cmd)
{
	uint32_t nr = (cmd->cdw10 & 0xff) + 1;
	const struct nvme_dsm_range *rg = (const struct nvme_dsm_range *)n->bounce;
	unsigned int nsegs;
	uint16_t st = nvme_map_prp(n, cmd->prp1, cmd->prp2, nr * 16, &nsegs);

	if (!st)
		st = nvme_dma_segs(n, nsegs, n->bounce, false);
	for (uint32_t i = 0; !st && i < nr; i++)
		if (rg[i].slba > n->nsze || rg[i].nlb > n->nsze - rg[i].slba)
			st = NVME_ERR(NVME_SC_LBA_RANGE);
	return st;
}

static void nvme_io(struct nvme_ctrl *n, const struct nvme_sqe *cmd, bool wce,
		    struct nvme_result *res)
{
	bool flush = cmd->opcode == NVME_CMD_FLUSH;

	if (cmd->flags & (NVME_SQE_FUSE_MASK | NVME_SQE_PSDT_MASK)) {
		res->status = NVME_ERR(NVME_SC_INVALID_FIELD);
		return;
	}
	if (cmd->nsid != NVME_NSID && !(flush && cmd->nsid == NVME_NSID_ALL)) {
		res->status = NVME_ERR(NVME_SC_INVALID_NS);
		return;
	}
	switch (cmd->opcode) {
	case NVME_CMD_FLUSH:
		if (nvme_store_sync(n) < 0)
			res->status = NVME_ERR(NVME_SC_INTERNAL);
		break;
	case NVME_CMD_WRITE:
	case NVME_CMD_READ:
		res->status = nvme_rw(n, cmd, cmd->opcode == NVME_CMD_WRITE, wce);
		break;
	case NVME_CMD_WRITE_ZEROES:
		res->status = nvme_write_zeroes(n, cmd, wce);
		break;
	case NVME_CMD_DSM:
		res->status = nvme_dsm(n, cmd);
		break;
	default:
		NVME_LOG(n, LOG_LVL_DEBUG, "I/O opcode 0x%02x not supported", cmd->opcode);
		res->status = NVME_ERR(NVME_SC_INVALID_OPCODE);
	}
}

/* ---- the worker ---- */

static bool nvme_cq_full(const struct nvme_cq *cq)
{
	return (cq->tail + 1) % cq->size == cq->head;
}

/* The next SQ with a command to run and room in its CQ, round-robin. fn->lock held. */
static int nvme_next_sq(struct nvme_ctrl *n)
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
static void nvme_process(struct nvme_ctrl *n, unsigned int qid)
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

static void *nvme_worker(void *arg)
{
	struct nvme_ctrl *n = arg;
	struct dext_function *fn = n->fn;

	pthread_mutex_lock(&fn->lock);
	for (;;) {
		int q = -1;

		while (!n->stop && !n->shutdown_pending && (q = nvme_next_sq(n)) < 0)
			pthread_cond_wait(&n->cond, &fn->lock);
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

/* ---- lifecycle ---- */

/* Function reset (and creation): registers to their defaults, then a controller reset. */
static void nvme_reset(struct dext_function *fn)
{
	struct nvme_ctrl *n = fn->priv;

	n->cc = 0;
	n->csts = 0;
	n->aqa = 0;
	n->asq = 0;
	n->acq = 0;
	n->shutdown_pending = false;
	nvme_ctrl_reset(n);
}

static void nvme_destroy(struct dext_function *fn)
{
	struct nvme_ctrl *n = fn->priv;

	if (!n)
		return;
	if (n->worker_started) {
		pthread_mutex_lock(&fn->lock);
		n->stop = true;
		pthread_cond_signal(&n->cond);
		pthread_mutex_unlock(&fn->lock);
		pthread_join(n->worker, NULL);
	}
	pthread_cond_destroy(&n->cond);
	if (n->fd >= 0)
		close(n->fd);
	if (n->mem)
		munmap(n->mem, n->size);
	free(n->bounce);
	free(n->prp);
	free(n->sq);
	free(n->cq);
	free(n);
	fn->priv = NULL;
}

static const struct dext_function_ops nvme_ops = {
	.kind = "nvme",
	.mmio_read = nvme_mmio_read,
	.mmio_write = nvme_mmio_write,
	.reset = nvme_reset,
	.destroy = nvme_destroy,
};

struct nvme_opts {
	const char *backing;
	uint64_t size;
	bool have_size;
	unsigned int lba_shift;
	unsigned int queues;
};

/* "key=value,key=value": size, backing, lba, queues. Returns 0 or -EINVAL. */
static int nvme_parse_opts(char *s, struct nvme_opts *o)
{
	char *save = NULL, *tok;
	uint64_t v;

	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *val = strchr(tok, '=');

		if (!val) {
			log_error("nvme: option '%s' is not KEY=VALUE", tok);
			return -EINVAL;
		}
		*val++ = '\0';
		if (!strcmp(tok, "size")) {
			if (parse_size(val, &v) < 0 || v == 0) {
				log_error("nvme: bad size '%s'", val);
				return -EINVAL;
			}
			o->size = v;
			o->have_size = true;
		} else if (!strcmp(tok, "backing")) {
			if (!*val) {
				log_error("nvme: empty backing path");
				return -EINVAL;
			}
			o->backing = val;
		} else if (!strcmp(tok, "lba")) {
			if (parse_u64(val, &v) < 0 || (v != 512 && v != 4096)) {
				log_error("nvme: bad lba '%s' (512 or 4096)", val);
				return -EINVAL;
			}
			o->lba_shift = v == 512 ? 9 : 12;
		} else if (!strcmp(tok, "queues")) {
			if (parse_u64(val, &v) < 0 || v < 1 || v > NVME_QUEUES_MAX) {
				log_error("nvme: bad queues '%s' (1..%u)", val, NVME_QUEUES_MAX);
				return -EINVAL;
			}
			o->queues = (unsigned int)v;
		} else {
			log_error("nvme: unknown option '%s' (known: size, backing, lba, queues)",
				  tok);
			return -EINVAL;
		}
	}
	return 0;
}

/* The namespace's store: the backing file created/extended to size, else memory. */
static int nvme_open_store(struct nvme_ctrl *n, const struct nvme_opts *o)
{
	struct stat st;
	int r;

	n->size = o->have_size ? o->size : NVME_SIZE_DEFAULT;
	if (o->backing) {
		n->fd = open(o->backing, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (n->fd < 0 || fstat(n->fd, &st) < 0) {
			r = -errno;
			log_error("nvme: backing file %s: %s", o->backing, strerror(-r));
			return r;
		}
		/* Without size=, an existing file keeps its size. */
		if (!o->have_size && st.st_size > 0)
			n->size = (uint64_t)st.st_size;
		if ((uint64_t)st.st_size < n->size && ftruncate(n->fd, (off_t)n->size) < 0) {
			r = -errno;
			log_error("nvme: extending %s: %s", o->backing, strerror(-r));
			return r;
		}
	}
	if (n->size & ((1ull << n->lba_shift) - 1) || n->size >> n->lba_shift == 0) {
		log_error("nvme: size %llu is not a multiple of the %u-byte LBA",
			  (unsigned long long)n->size, 1u << n->lba_shift);
		return -EINVAL;
	}
	n->nsze = n->size >> n->lba_shift;
	if (!o->backing) {
		/* Untouched pages cost nothing and read as zero. */
		n->mem = mmap(NULL, n->size, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (n->mem == MAP_FAILED) {
			n->mem = NULL;
			log_error("nvme: %llu bytes of memory: %s", (unsigned long long)n->size,
				  strerror(errno));
			return -ENOMEM;
		}
	}
	return 0;
}

struct dext_function *nvme_create(unsigned int bus, unsigned int dev, unsigned int func,
				  const struct dart_config *dart_cfg, const char *opts)
{
	struct nvme_opts o = { .lba_shift = 9, .queues = NVME_QUEUES_DEFAULT };
	struct dext_function *fn = NULL;
	struct nvme_ctrl *n;
	char *copy = strdup(opts ? opts : "");
	uint32_t bdf = bdf_pack(bus, dev, func);
	int r = -ENOMEM;

	if (!copy)
		goto fail;
	r = nvme_parse_opts(copy, &o);
	if (r < 0)
		goto fail;
	r = -ENOMEM;
	fn = fn_alloc(bus, dev, func, dart_cfg);
	if (!fn)
		goto fail;
	n = calloc(1, sizeof(*n));
	if (!n)
		goto fail;
	fn->priv = n;
	fn->ops = &nvme_ops;
	n->fn = fn;
	n->fd = -1;
	n->ioqs = o.queues;
	n->lba_shift = o.lba_shift;
	pthread_cond_init(&n->cond, NULL);
	n->sq = calloc(n->ioqs + 1, sizeof(*n->sq));
	n->cq = calloc(n->ioqs + 1, sizeof(*n->cq));
	n->bounce = malloc(NVME_MAX_XFER);
	n->prp = malloc(NVME_PAGE_SIZE);
	if (!n->sq || !n->cq || !n->bounce || !n->prp)
		goto fail;
	r = nvme_open_store(n, &o);
	if (r < 0)
		goto fail;

	/* Identifiers unique per BDF, so two controllers are two subsystems. */
	snprintf(n->sn, sizeof(n->sn), "VFA%06x", bdf);
	n->eui64[0] = 0x02;	/* locally administered */
	n->eui64[5] = (uint8_t)(bdf >> 16);
	n->eui64[6] = (uint8_t)(bdf >> 8);
	n->eui64[7] = (uint8_t)bdf;
	memcpy(n->nguid, "vfio-apple", 10);
	memcpy(n->nguid + 10, n->eui64 + 2, 6);

	n->cap = NVME_MQES | NVME_CAP_CQR | (uint64_t)NVME_TIMEOUT << NVME_CAP_TO_SHIFT |
		 NVME_CAP_CSS_NVM;	/* DSTRD, NSSRS, MPSMIN, MPSMAX all 0 */
	nvme_reset(fn);

	fn_set_identity(fn, NVME_PCI_VENDOR_ID, NVME_PCI_DEVICE_ID, NVME_PCI_CLASS, 2);
	r = fn_add_bar(fn, 0, NVME_BAR0_SIZE, DEXT_BAR_TYPE_MEM64, false);
	if (!r)
		r = fn_add_bar(fn, 4, NVME_BAR4_SIZE, 0, false);
	if (!r)
		r = fn_add_pcie(fn);
	if (!r)
		r = fn_add_msix(fn, n->ioqs + 1, 4, 0, NVME_MSIX_PBA_OFFSET);
	if (r < 0)
		goto fail;
	r = -pthread_create(&n->worker, NULL, nvme_worker, n);
	if (r < 0)
		goto fail;
	n->worker_started = true;
	free(copy);
	return fn;
fail:
	fn_free(fn);
	free(copy);
	errno = -r;
	return NULL;
}
