// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nvme: NVM commands (NVMe 1.4, 6) and the namespace's store.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "nvme.h"

/* The namespace's bytes: memory, or the backing file with pread/pwrite. */
int nvme_store_io(struct nvme_ctrl *n, uint8_t *buf, uint64_t off, size_t len, bool write)
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

int nvme_store_sync(struct nvme_ctrl *n)
{
	if (n->fd >= 0 && fdatasync(n->fd) < 0)
		return -errno;
	return 0;
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

void nvme_io(struct nvme_ctrl *n, const struct nvme_sqe *cmd, bool wce, struct nvme_result *res)
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
