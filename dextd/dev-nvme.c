// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nvme: a simulated NVMe 1.4 controller with one namespace, enough for the
 * stock Linux nvme driver. This file creates and destroys it (options,
 * identifiers, backing store, BARs); see nvme.h for how it works and
 * where each part lives.
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
#include "nvme.h"

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
	nvme_workers_stop(n);
	nvme_workers_free(n);
	pthread_cond_destroy(&n->cond);
	if (n->fd >= 0)
		close(n->fd);
	if (n->dfd >= 0) {
		log_info("%02x:%02x.%x: cache=none: %llu transfers not aligned for O_DIRECT went "
			 "through the page cache", fn->bus, fn->dev, fn->fn,
			 (unsigned long long)n->dio_fallbacks);
		close(n->dfd);
	}
	if (n->mem)
		munmap(n->mem, n->size);
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
	unsigned int workers;
	bool cache_none;
};

/* "key=value,...": size, backing, cache, lba, queues, workers. Returns 0 or -EINVAL. */
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
		} else if (!strcmp(tok, "cache")) {
			if (strcmp(val, "none") && strcmp(val, "writeback")) {
				log_error("nvme: bad cache '%s' (none or writeback)", val);
				return -EINVAL;
			}
			o->cache_none = !strcmp(val, "none");
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
		} else if (!strcmp(tok, "workers")) {
			if (parse_u64(val, &v) < 0 || v < 1 || v > NVME_WORKERS_MAX) {
				log_error("nvme: bad workers '%s' (1..%u)", val, NVME_WORKERS_MAX);
				return -EINVAL;
			}
			o->workers = (unsigned int)v;
		} else {
			log_error("nvme: unknown option '%s' (known: size, backing, cache, lba, "
				  "queues, workers)", tok);
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
	if (o->cache_none) {
		if (!o->backing) {
			log_error("nvme: cache=none needs backing=");
			return -EINVAL;
		}
		n->dfd = open(o->backing, O_RDWR | O_DIRECT | O_CLOEXEC);
		if (n->dfd < 0) {
			r = -errno;
			log_error("nvme: cache=none: %s cannot be opened O_DIRECT: %s", o->backing,
				  strerror(-r));
			return r;
		}
		/* What O_DIRECT needs of buffers, offsets and lengths, at most a page. */
		n->dio_align = st.st_blksize > 0 && st.st_blksize < 4096 ? (unsigned int)st.st_blksize
									 : 4096;
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
	struct nvme_opts o = { .lba_shift = 9, .queues = NVME_QUEUES_DEFAULT,
			       .workers = NVME_WORKERS_DEFAULT };
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
	n->dfd = -1;
	n->ioqs = o.queues;
	n->lba_shift = o.lba_shift;
	pthread_cond_init(&n->cond, NULL);
	n->sq = calloc(n->ioqs + 1, sizeof(*n->sq));
	n->cq = calloc(n->ioqs + 1, sizeof(*n->cq));
	if (!n->sq || !n->cq)
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
	r = nvme_workers_start(n, o.workers);
	if (r < 0)
		goto fail;
	free(copy);
	return fn;
fail:
	fn_free(fn);
	free(copy);
	errno = -r;
	return NULL;
}
