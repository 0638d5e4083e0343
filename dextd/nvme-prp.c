// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nvme: PRP1/PRP2 and PRP lists to IOVA segments (NVMe 1.4, 4.3), and
 * data movement between them and a bounce buffer through the DART.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/log.h"
#include "nvme.h"

/*
 * Turns a command's PRP1/PRP2 into IOVA segments for len bytes (NVMe 1.4,
 * 4.3): PRP1 may start anywhere dword aligned in a page; PRP2 is either the
 * second page or a pointer to a PRP list, whose entries are page aligned
 * and whose last entry, when a list page is full and more follow, points
 * to the next list page. Lists are fetched through the DART too.
 *
 * Everything here comes from the guest, so the arithmetic is checked: the
 * list pointer is qword aligned (its offset leaves at least one whole entry
 * in the page), every list read is at least one entry, and the segment
 * count is bounded by NVME_MAX_SEGS whatever the list says.
 */
uint16_t nvme_map_prp(struct nvme_worker *w, uint64_t prp1, uint64_t prp2, uint32_t len,
		      unsigned int *nsegs)
{
	struct nvme_ctrl *n = w->n;
	uint32_t first, avail;
	unsigned int ns = 0;
	uint64_t list;

	if (len > NVME_MAX_XFER)
		return NVME_ERR(NVME_SC_INVALID_FIELD);
	if (prp1 & 3)
		return NVME_ERR(NVME_SC_INVALID_PRP_OFFSET);
	first = NVME_PAGE_SIZE - (uint32_t)(prp1 & (NVME_PAGE_SIZE - 1));
	if (first > len)
		first = len;
	w->segs[ns++] = (struct nvme_seg){ prp1, first };
	len -= first;
	if (len == 0)
		goto out;
	if (len <= NVME_PAGE_SIZE) {
		if (prp2 & (NVME_PAGE_SIZE - 1))
			return NVME_ERR(NVME_SC_INVALID_PRP_OFFSET);
		w->segs[ns++] = (struct nvme_seg){ prp2, len };
		goto out;
	}
	/* A list pointer may have an offset into its page, qword aligned. */
	list = prp2;
	if (list & 7)
		return NVME_ERR(NVME_SC_INVALID_PRP_OFFSET);
	avail = (NVME_PAGE_SIZE - (uint32_t)(list & (NVME_PAGE_SIZE - 1))) / 8;
	while (len) {
		uint32_t need = (len + NVME_PAGE_SIZE - 1) / NVME_PAGE_SIZE;
		bool chained = need > avail;
		/* 1 <= take <= avail <= NVME_PRP_PER_PAGE: w->prp holds it. */
		uint32_t take = chained ? avail : need;
		uint32_t data = take - (chained ? 1 : 0);

		if (fn_dma_read(n->fn, list, w->prp, (size_t)take * 8, NULL) < 0) {
			NVME_LOG(n, LOG_LVL_DEBUG, "PRP list at IOVA 0x%llx unreadable",
				 (unsigned long long)list);
			return NVME_ERR(NVME_SC_DATA_XFER_ERROR);
		}
		for (uint32_t i = 0; i < data; i++) {
			uint32_t l = len < NVME_PAGE_SIZE ? len : NVME_PAGE_SIZE;

			if (w->prp[i] & (NVME_PAGE_SIZE - 1))
				return NVME_ERR(NVME_SC_INVALID_PRP_OFFSET);
			if (ns == NVME_MAX_SEGS)	/* unreachable with len <= MDTS */
				return NVME_ERR(NVME_SC_INVALID_FIELD);
			w->segs[ns++] = (struct nvme_seg){ w->prp[i], l };
			len -= l;
		}
		if (chained) {
			/*
			 * Every later list page is whole (512 entries), so
			 * the loop ends after at most MDTS / 511 + 2 reads.
			 */
			list = w->prp[take - 1];
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
uint16_t nvme_dma_segs(struct nvme_worker *w, unsigned int nsegs, uint8_t *buf, bool to_host)
{
	struct nvme_ctrl *n = w->n;
	size_t off = 0;

	for (unsigned int i = 0; i < nsegs; i++) {
		const struct nvme_seg *s = &w->segs[i];
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
uint16_t nvme_to_host(struct nvme_worker *w, const struct nvme_sqe *cmd, uint8_t *buf,
		      uint32_t len)
{
	unsigned int nsegs;
	uint16_t st = nvme_map_prp(w, cmd->prp1, cmd->prp2, len, &nsegs);

	return st ? st : nvme_dma_segs(w, nsegs, buf, true);
}
