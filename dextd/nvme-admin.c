// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nvme: admin commands (NVMe 1.4, 5).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "nvme.h"

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
	id->oacs = NVME_OACS_DBBUF;	/* Doorbell Buffer Config; no security, format, firmware, NS management */
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
static void nvme_identify(struct nvme_worker *w, const struct nvme_sqe *cmd,
			  struct nvme_result *res)
{
	struct nvme_ctrl *n = w->n;
	unsigned int cns = cmd->cdw10 & 0xff, csi = cmd->cdw11 >> 24;
	uint8_t *buf = w->bounce;

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
	res->status = nvme_to_host(w, cmd, buf, NVME_IDENTIFY_SIZE);
	return;
invalid_ns:
	res->status = NVME_ERR(NVME_SC_INVALID_NS);
	return;
invalid_field:
	res->status = NVME_ERR(NVME_SC_INVALID_FIELD);
}

/* Get Log Page (5.14): error information, SMART / health, firmware slot. */
static void nvme_get_log(struct nvme_worker *w, const struct nvme_sqe *cmd,
			 struct nvme_result *res)
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
	memset(w->bounce, 0, len);
	if (lpo < log_len)
		memcpy(w->bounce, log + lpo, len < log_len - lpo ? len : log_len - lpo);
	res->status = nvme_to_host(w, cmd, w->bounce, (uint32_t)len);
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

void nvme_admin(struct nvme_worker *w, const struct nvme_sqe *cmd, uint64_t gen,
		struct nvme_result *res)
{
	struct nvme_ctrl *n = w->n;

	if (cmd->flags & (NVME_SQE_FUSE_MASK | NVME_SQE_PSDT_MASK)) {
		res->status = NVME_ERR(NVME_SC_INVALID_FIELD);	/* no fused ops, no SGLs */
		return;
	}
	switch (cmd->opcode) {
	case NVME_ADM_IDENTIFY:
		nvme_identify(w, cmd, res);
		break;
	case NVME_ADM_GET_LOG_PAGE:
		nvme_get_log(w, cmd, res);
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
	case NVME_ADM_DBBUF_CONFIG:
		nvme_dbbuf_config(n, cmd, gen, res);
		break;
	default:
		NVME_LOG(n, LOG_LVL_DEBUG, "admin opcode 0x%02x not supported", cmd->opcode);
		res->status = NVME_ERR(NVME_SC_INVALID_OPCODE);
	}
}
