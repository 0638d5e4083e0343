// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nvme: NVM commands (NVMe 1.4, 6) and the namespace's store.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"
#include "nvme.h"

/* preadv/pwritev of all of v[0..cnt) at off; a read past the end of a sparse file gives zeros. */
static int store_iov(int fd, struct iovec *v, unsigned int cnt, uint64_t off, bool write,
		     size_t *done)
{
	*done = 0;
	while (cnt) {
		ssize_t k = write ? pwritev(fd, v, (int)cnt, (off_t)(off + *done))
				  : preadv(fd, v, (int)cnt, (off_t)(off + *done));

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0) {
			if (write)
				return -EIO;
			for (; cnt; v++, cnt--)
				memset(v->iov_base, 0, v->iov_len);
			return 0;
		}
		*done += (size_t)k;
		for (; cnt && (size_t)k >= v->iov_len; v++, cnt--)
			k -= (ssize_t)v->iov_len;
		if (cnt) {
			v->iov_base = (uint8_t *)v->iov_base + k;
			v->iov_len -= (size_t)k;
		}
	}
	return 0;
}

/* The namespace's bytes: memory, or the backing file. */
int nvme_store_io(struct nvme_ctrl *n, uint8_t *buf, uint64_t off, size_t len, bool write)
{
	struct iovec v = { .iov_base = buf, .iov_len = len };
	size_t done;

	if (n->fd < 0) {
		if (write)
			memcpy(n->mem + off, buf, len);
		else
			memcpy(buf, n->mem + off, len);
		return 0;
	}
	return store_iov(n->fd, &v, 1, off, write, &done);
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

/* Whether cache=none's O_DIRECT fd can take this transfer (buffers, offset, lengths aligned). */
static bool dio_ok(const struct nvme_ctrl *n, const struct iovec *v, unsigned int cnt,
		   uint64_t off)
{
	uintptr_t mask = n->dio_align - 1;

	if (n->dfd < 0 || (off & mask))
		return false;
	for (unsigned int i = 0; i < cnt; i++)
		if (((uintptr_t)v[i].iov_base & mask) || (v[i].iov_len & mask))
			return false;
	return true;
}

/*
 * A Read or Write straight between the backing file and client memory that
 * was shared with dextd (fn_dma_direct): preadv/pwritev into or out of the
 * guest's pages, no bounce buffer. Every segment is translated (and
 * checked) before any byte moves, so a fault moves nothing. Returns true
 * with *st set when done, false when some segment is not in shared memory
 * (then the bounce buffer path runs).
 */
static bool nvme_rw_direct(struct nvme_worker *w, unsigned int nsegs, uint64_t off, bool write,
			   uint16_t *st)
{
	struct nvme_ctrl *n = w->n;
	struct iovec iov[NVME_MAX_SEGS];
	size_t done = 0;
	unsigned int i;
	int r = 0;

	if (n->fd < 0)
		return false;
	fn_dma_hold(n->fn);
	for (i = 0; i < nsegs; i++) {
		void *p;

		r = fn_dma_direct(n->fn, w->segs[i].iova, w->segs[i].len, !write, &p,
				  &w->holds[i]);
		if (r < 0 || !p)
			break;
		iov[i] = (struct iovec){ .iov_base = p, .iov_len = w->segs[i].len };
	}
	if (r == 0 && i == nsegs) {
		r = -EINVAL;
		if (dio_ok(n, iov, nsegs, off))
			r = store_iov(n->dfd, iov, nsegs, off, write, &done);
		/* Not aligned, or refused before any byte moved (EINVAL): the page cache. */
		if (r == -EINVAL && !done) {
			if (n->dfd >= 0)
				__atomic_fetch_add(&n->dio_fallbacks, 1, __ATOMIC_RELAXED);
			r = store_iov(n->fd, iov, nsegs, off, write, &done);
		}
		if (r < 0) {
			NVME_LOG(n, LOG_LVL_WARN, "backing %s: %s", write ? "write" : "read",
				 strerror(-r));
			*st = NVME_ERR(write ? NVME_SC_WRITE_FAULT : NVME_SC_READ_ERROR);
		} else {
			*st = NVME_SC_SUCCESS;
		}
	} else if (r < 0) {
		NVME_LOG(n, LOG_LVL_DEBUG, "data %s at IOVA 0x%llx failed: %s",
			 write ? "read" : "write", (unsigned long long)w->segs[i].iova,
			 strerror(-r));
		*st = NVME_ERR(NVME_SC_DATA_XFER_ERROR);
	}
	/* The DART holds of the segments taken, then the shared memory. */
	for (unsigned int k = 0; k < i; k++)
		fn_dma_put(n->fn, &w->holds[k]);
	fn_dma_release(n->fn, done);
	return r < 0 || i == nsegs;
}

static uint16_t nvme_rw(struct nvme_worker *w, const struct nvme_sqe *cmd, bool write, bool wce)
{
	struct nvme_ctrl *n = w->n;
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
	st = nvme_map_prp(w, cmd->prp1, cmd->prp2, len, &nsegs);
	if (st)
		return st;
	if (nvme_rw_direct(w, nsegs, slba << n->lba_shift, write, &st)) {
		if (st == NVME_SC_SUCCESS && write && (fua || !wce) && nvme_store_sync(n) < 0)
			st = NVME_ERR(NVME_SC_WRITE_FAULT);
		return st;
	}
	if (write) {
		/* All data in before any of it lands: a fault writes nothing. */
		st = nvme_dma_segs(w, nsegs, w->bounce, false);
		if (st)
			return st;
		r = nvme_store_io(n, w->bounce, slba << n->lba_shift, len, true);
		if (r == 0 && (fua || !wce))
			r = nvme_store_sync(n);
		if (r < 0) {
			NVME_LOG(n, LOG_LVL_WARN, "backing write: %s", strerror(-r));
			return NVME_ERR(NVME_SC_WRITE_FAULT);
		}
		return NVME_SC_SUCCESS;
	}
	r = nvme_store_io(n, w->bounce, slba << n->lba_shift, len, false);
	if (r < 0) {
		NVME_LOG(n, LOG_LVL_WARN, "backing read: %s", strerror(-r));
		return NVME_ERR(NVME_SC_READ_ERROR);
	}
	return nvme_dma_segs(w, nsegs, w->bounce, true);
}

static uint16_t nvme_write_zeroes(struct nvme_worker *w, const struct nvme_sqe *cmd, bool wce)
{
	struct nvme_ctrl *n = w->n;
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
	memset(w->bounce, 0, NVME_MAX_XFER);
	while (r == 0 && off < end) {
		size_t step = end - off < NVME_MAX_XFER ? end - off : NVME_MAX_XFER;

		r = nvme_store_io(n, w->bounce, off, step, true);
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
static uint16_t nvme_dsm(struct nvme_worker *w, const struct nvme_sqe *cmd)
{
	struct nvme_ctrl *n = w->n;
	uint32_t nr = (cmd->cdw10 & 0xff) + 1;
	const struct nvme_dsm_range *rg = (const struct nvme_dsm_range *)w->bounce;
	unsigned int nsegs;
	uint16_t st = nvme_map_prp(w, cmd->prp1, cmd->prp2, nr * 16, &nsegs);

	if (!st)
		st = nvme_dma_segs(w, nsegs, w->bounce, false);
	for (uint32_t i = 0; !st && i < nr; i++)
		if (rg[i].slba > n->nsze || rg[i].nlb > n->nsze - rg[i].slba)
			st = NVME_ERR(NVME_SC_LBA_RANGE);
	return st;
}

void nvme_io(struct nvme_worker *w, const struct nvme_sqe *cmd, bool wce,
	     struct nvme_result *res)
{
	struct nvme_ctrl *n = w->n;
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
		res->status = nvme_rw(w, cmd, cmd->opcode == NVME_CMD_WRITE, wce);
		break;
	case NVME_CMD_WRITE_ZEROES:
		res->status = nvme_write_zeroes(w, cmd, wce);
		break;
	case NVME_CMD_DSM:
		res->status = nvme_dsm(w, cmd);
		break;
	default:
		NVME_LOG(n, LOG_LVL_DEBUG, "I/O opcode 0x%02x not supported", cmd->opcode);
		res->status = NVME_ERR(NVME_SC_INVALID_OPCODE);
	}
}
